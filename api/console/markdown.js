// The model card's markdown (governance/card.ts writes it) as a document: headings, paragraphs, lists, tables,
// code and bold, which is all the card uses. The card quotes the submitter's own words, so nothing here parses
// HTML: every piece of text becomes a text node inside an element this module chose. Anything else a line may
// hold (raw HTML, links, images) is shown as the text it is.

/** Splits `text` into blocks: {type: 'heading', level, text}, {type: 'paragraph'|'code', text}, {type: 'list',
 * ordered, items}, {type: 'table', header, rows}. Pure, so the same input always gives the same document. */
export function parseMarkdown(text) {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let i = 0;
  const isTableRow = (line) => /^\s*\|.*\|\s*$/.test(line ?? '');
  const isDivider = (line) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line ?? '');
  const listItem = (line) => /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line ?? '');
  while (i < lines.length) {
    const line = lines[i];
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (line.trim() === '') {
      i += 1;
    } else if (heading) {
      blocks.push({ type: 'heading', level: heading[1].length, text: heading[2] });
      i += 1;
    } else if (/^\s*```/.test(line)) {
      const body = [];
      for (i += 1; i < lines.length && !/^\s*```/.test(lines[i]); i += 1) body.push(lines[i]);
      blocks.push({ type: 'code', text: body.join('\n') });
      i += 1;
    } else if (isTableRow(line) && isDivider(lines[i + 1])) {
      const header = cells(line);
      const rows = [];
      for (i += 2; isTableRow(lines[i]); i += 1) rows.push(cells(lines[i]));
      blocks.push({ type: 'table', header, rows });
    } else if (listItem(line)) {
      const ordered = listItem(line)[2] !== undefined;
      const items = [];
      for (let item; (item = listItem(lines[i])) && (item[2] !== undefined) === ordered; i += 1) items.push(item[3]);
      blocks.push({ type: 'list', ordered, items });
    } else {
      // A paragraph runs to the next blank line or the next block of another kind.
      const body = [];
      for (; i < lines.length && lines[i].trim() !== '' && !startsBlock(lines, i); i += 1) body.push(lines[i].trim());
      blocks.push({ type: 'paragraph', text: body.join(' ') });
    }
  }
  return blocks;

  function startsBlock(all, at) {
    const line = all[at];
    return (
      /^#{1,6}\s/.test(line) || /^\s*```/.test(line) || !!listItem(line) || (isTableRow(line) && isDivider(all[at + 1]))
    );
  }
}

/** A table row's cells: split on pipes, except escaped ones (`\|`, as the card writes a pipe inside a cell). */
function cells(row) {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/** Inline markup as [kind, text] pieces: 'code' (`x`), 'strong' (**x**) and plain 'text' (escapes resolved). */
export function parseInline(text) {
  const pieces = [];
  const pattern = /`([^`]+)`|\*\*(.+?)\*\*/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) pieces.push(['text', unescape(text.slice(last, match.index))]);
    pieces.push(match[1] !== undefined ? ['code', match[1]] : ['strong', unescape(match[2])]);
    last = match.index + match[0].length;
  }
  if (last < text.length) pieces.push(['text', unescape(text.slice(last))]);
  return pieces;
}

// Markdown's backslash escapes: a backslash before punctuation shows the punctuation.
const unescape = (text) => text.replace(/\\([!-/:-@[-`{-~])/g, '$1');

/** The document for `markdown`, as a fragment of elements built with `doc` (never from HTML). */
export function renderMarkdown(markdown, doc = document) {
  const element = (tag, children = []) => {
    const node = doc.createElement(tag);
    node.append(...children);
    return node;
  };
  const inline = (text) =>
    parseInline(text).map(([kind, value]) => (kind === 'text' ? doc.createTextNode(value) : element(kind, [value])));
  const fragment = doc.createDocumentFragment();
  for (const block of parseMarkdown(markdown)) {
    if (block.type === 'heading') fragment.append(element(`h${block.level}`, inline(block.text)));
    else if (block.type === 'paragraph') fragment.append(element('p', inline(block.text)));
    else if (block.type === 'code') fragment.append(element('pre', [element('code', [block.text])]));
    else if (block.type === 'list')
      fragment.append(
        element(
          block.ordered ? 'ol' : 'ul',
          block.items.map((item) => element('li', inline(item))),
        ),
      );
    else if (block.type === 'table') {
      const row = (tag, values) =>
        element(
          'tr',
          values.map((value) => element(tag, inline(value))),
        );
      fragment.append(
        element('table', [
          element('thead', [row('th', block.header)]),
          element(
            'tbody',
            block.rows.map((values) => row('td', values)),
          ),
        ]),
      );
    }
  }
  return fragment;
}
