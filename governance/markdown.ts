// The markdown pieces the model card's sections share: figures, table cells and tables.

export const num = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(4));
/** Counts stay whole numbers; shares and milliseconds get four decimals. */
export const figure = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4));
export const signed = (x: number) => (x > 0 ? '+' : '') + x.toFixed(4);
/** Text from callers goes into table cells and list items: no pipes or line breaks may reshape the table. */
export const cell = (text: unknown) => String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
export const table = (header: string[], rows: unknown[][]) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
