export { addGradients, type GradientOptions } from './gradients.ts';
export { NoGradientRuleError } from './errors.ts';
export { gradientRules } from './rules/index.ts';
export type { GradContext, GradRule } from './context.ts';
