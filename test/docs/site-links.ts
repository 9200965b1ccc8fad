/**
 * Broken-link check of a built HTML site: every relative `href`/`src` in every page points to a file that
 * exists, and every `#anchor` to an element with that id (or name) in the target page.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

async function htmlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.html')) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** The ids and names a page defines, what a `#fragment` may point at. */
function targets(html: string): Set<string> {
  const ids = [...html.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => decodeHtml(m[1] as string));
  return new Set(ids);
}

const decodeHtml = (s: string): string =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

/** Every broken link in the site under `dir`, as `page: link (why)`; empty when all resolve. */
export async function brokenLinks(dir: string): Promise<string[]> {
  const pages = await htmlFiles(dir);
  const html = new Map(await Promise.all(pages.map(async (p) => [p, await readFile(p, 'utf8')] as const)));
  const ids = new Map<string, Set<string>>();
  const idsOf = (page: string): Set<string> => {
    let set = ids.get(page);
    if (set === undefined) ids.set(page, (set = targets(html.get(page) ?? '')));
    return set;
  };
  const broken: string[] = [];
  for (const [page, text] of html) {
    for (const [, raw] of text.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      const link = decodeHtml(raw as string);
      if (link === '' || /^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) continue; // external
      const [pathPart, fragment] = link.split('#', 2) as [string, string | undefined];
      const target = pathPart === '' ? page : join(dirname(page), decodeURIComponent(pathPart.split('?')[0] as string));
      const where = `${relative(dir, page)}: ${link}`;
      if (!(await exists(target))) {
        broken.push(`${where} (no such file)`);
      } else if (fragment && target.endsWith('.html') && !idsOf(target).has(decodeURIComponent(fragment))) {
        broken.push(`${where} (no #${fragment} in ${relative(dir, target)})`);
      }
    }
  }
  return broken;
}
