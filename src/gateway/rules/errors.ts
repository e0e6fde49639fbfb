// Every way a rule can be wrong is a RuleSyntaxError that points at a column of the rule, so a
// config error can say exactly where to look: `rule column 27: expected ")" after ...`.

export class RuleSyntaxError extends Error {
  override readonly name = 'RuleSyntaxError';
  /** 1-based column (UTF-16 code unit) of the rule text where the problem starts. */
  readonly column: number;
  /** The whole rule that failed. */
  readonly rule: string;
  /** The problem without the `rule column N:` prefix. */
  readonly detail: string;
  /** The router whose rule this is, when the error came out of a RouterTable. */
  readonly router: string | undefined;

  constructor(rule: string, column: number, detail: string, router?: string) {
    super(`${router === undefined ? '' : `router ${JSON.stringify(router)}: `}rule column ${column}: ${detail}`);
    this.rule = rule;
    this.column = column;
    this.detail = detail;
    this.router = router;
  }

  /** The same error, naming the router it belongs to. */
  forRouter(router: string): RuleSyntaxError {
    return new RuleSyntaxError(this.rule, this.column, this.detail, router);
  }
}
