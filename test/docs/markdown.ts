/** Fenced code blocks of a Markdown guide, with the line each starts on, for the docs checks. */

/** A fenced code block: its language, the words after it (`nocheck`), its text and its first line's number. */
export interface CodeBlock {
  readonly lang: string;
  readonly flags: readonly string[];
  readonly code: string;
  /** 1-based line number in the file of the block's first code line. */
  readonly line: number;
}

/** Every fenced block in a Markdown text, indented ones (in list items) too. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j] as string)) body.push((lines[j++] as string).slice(indent));
    out.push({
      lang: open[2] as string,
      flags: (open[3] as string).split(/\s+/).filter(Boolean),
      code: body.join('\n'),
      line: i + 2,
    });
    i = j;
  }
  return out;
}
