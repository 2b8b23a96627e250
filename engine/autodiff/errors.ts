/** An op on a path from a parameter to the loss has no gradient rule, so the gradient cannot be built. */
export class NoGradientRuleError extends Error {
  constructor(
    readonly node: string,
    readonly op: string,
  ) {
    super(`no gradient rule for op '${op}' (node '${node}'), which lies on a path from a parameter to the loss`);
    this.name = 'NoGradientRuleError';
  }
}
