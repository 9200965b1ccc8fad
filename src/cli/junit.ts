/**
 * JUnit XML as CI systems read it (Jenkins, GitLab, GitHub Actions reporters, Azure Pipelines): one
 * `<testsuite>` per validation, one `<testcase>` per check, `<failure>` for a missed threshold and `<error>`
 * when the gate could not run at all.
 */

/** A check as a test case. */
export interface JUnitCase {
  readonly name: string;
  readonly passed: boolean;
  /** A check that could not run (the model failed to load): an `<error>`, not a `<failure>`. */
  readonly error?: boolean;
  readonly message: string;
  readonly seconds?: number;
}

const escape = (text: string): string =>
  text
    // Characters XML 1.0 cannot carry at all.
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** The XML document for one suite. */
export function junitXml(suite: {
  readonly name: string;
  readonly cases: readonly JUnitCase[];
  readonly seconds: number;
  readonly properties?: Readonly<Record<string, string>>;
}): string {
  const failures = suite.cases.filter((c) => !c.passed && c.error !== true).length;
  const errors = suite.cases.filter((c) => c.error === true).length;
  const counts = `tests="${suite.cases.length}" failures="${failures}" errors="${errors}" time="${suite.seconds.toFixed(3)}"`;
  const props = Object.entries(suite.properties ?? {})
    .map(([k, v]) => `      <property name="${escape(k)}" value="${escape(v)}"/>`)
    .join('\n');
  const cases = suite.cases.map((c) => {
    const open = `    <testcase classname="modelship.validate" name="${escape(c.name)}" time="${(c.seconds ?? 0).toFixed(3)}"`;
    if (c.passed) return `${open}>\n      <system-out>${escape(c.message)}</system-out>\n    </testcase>`;
    const tag = c.error === true ? 'error' : 'failure';
    return `${open}>\n      <${tag} message="${escape(c.message)}" type="${escape(c.name)}">${escape(c.message)}</${tag}>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="modelship validate" ${counts}>`,
    `  <testsuite name="${escape(suite.name)}" ${counts} timestamp="${new Date().toISOString().replace(/\.\d+Z$/, '')}">`,
    ...(props === '' ? [] : ['    <properties>', props, '    </properties>']),
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
