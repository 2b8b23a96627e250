import type { GradRule } from '../context.ts';
import { activationRules } from './activations.ts';
import { elementwiseRules } from './elementwise.ts';
import { linalgRules } from './linalg.ts';
import { normRules } from './norm.ts';
import { reduceRules } from './reduce.ts';
import { shapeRules } from './shape.ts';

/** Gradient rules by ONNX op type (default domain). */
export const gradientRules: Record<string, GradRule> = {
  ...elementwiseRules,
  ...activationRules,
  ...linalgRules,
  ...reduceRules,
  ...normRules,
  ...shapeRules,
};
