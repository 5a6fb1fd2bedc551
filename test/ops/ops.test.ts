import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { METRICS } from '../../src/observe/metric-catalog.ts';
import type { MetricSpec } from '../../src/observe/metric-catalog.ts';
import { tempDir } from '../support/temp-dir.ts';

// The alert rules and the dashboard in ops/ are code: promtool checks and unit-tests the rules, and
// every metric they name must be one the engine exports (src/observe/metric-catalog.ts), used as its
// type allows.

const PROMTOOL = process.env['PROMTOOL'] ?? '/usr/bin/promtool';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = 'ops/prometheus/phsync-alerts.yml';
const RULE_TESTS = 'ops/prometheus/phsync-alerts.test.yml';
const DASHBOARD = 'ops/grafana/phsync-dashboard.json';

const CATALOG = new Map<string, MetricSpec>((METRICS as readonly MetricSpec[]).map((m) => [m.name, m]));

/** Counter references outside rate/irate/increase, each with its reason; any other is an error. */
const RAW_COUNTER_USES: readonly { readonly where: string; readonly metric: string; readonly why: string }[] = [
  {
    where: 'alert PhsyncMassDisablePrevented',
    metric: 'phsync_users_failed_total',
    why: 'a by-code counter appears at 1, which increase() cannot see (a series born in the last hour), and a pushed one-shot run holds only that run\'s count',
  },
];

/** Alerts about an engine or a tenant, not a source: the label their annotations name instead. */
const NOT_PER_SOURCE: Readonly<Record<string, string>> = { PhsyncDown: 'instance', PhsyncTargetRetries: 'name', PhsyncHashPoolSaturated: 'instance' };

const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

function read(path: string): string {
  return readFileSync(new URL(path, new URL('../../', import.meta.url)), 'utf8');
}

function promtool(args: readonly string[]): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.error !== undefined) return { status: null, output: `cannot run ${PROMTOOL} (apt-get install prometheus): ${r.error.message}` };
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// ---------------------------------------------------------------------------- rules file

interface AlertRule {
  readonly name: string;
  readonly expr: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly annotations: ReadonlyMap<string, string>;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

/** A YAML scalar as this repository writes them: plain, or double-quoted (JSON-compatible escapes). */
function scalar(text: string): string {
  const t = text.trim();
  if (t.startsWith('"')) return JSON.parse(t) as string;
  if (t.startsWith("'")) return t.slice(1, -1).replaceAll("''", "'");
  return t;
}

/**
 * The alerting rules of a rules file written in this repository's style (`- alert:` items, `expr:`
 * as a `|` block or on one line, `labels:` and `annotations:` maps of one-line scalars). Not a YAML
 * parser: the test checks that it found as many rules as promtool does.
 */
function parseAlertRules(text: string): AlertRule[] {
  const lines = text.split('\n');
  const rules: AlertRule[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)- alert:\s*(\S+)\s*$/.exec(lines[i] ?? '');
    if (head === null) continue;
    const itemIndent = (head[1] ?? '').length;
    const keyIndent = itemIndent + 2;
    const block: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j] ?? '';
      if (line.trim() !== '' && indentOf(line) <= itemIndent) break;
      block.push(line);
    }
    let expr = '';
    const labels = new Map<string, string>();
    const annotations = new Map<string, string>();
    for (let k = 0; k < block.length; k++) {
      const line = block[k] ?? '';
      if (line.trim() === '' || indentOf(line) !== keyIndent) continue;
      const key = /^\s*(\w+):\s*(.*)$/.exec(line);
      if (key === null) continue;
      const [, name = '', rest = ''] = key;
      if (name === 'expr') {
        if (/^[|>][-+]?$/.test(rest.trim())) {
          const body: string[] = [];
          for (let m = k + 1; m < block.length && ((block[m] ?? '').trim() === '' || indentOf(block[m] ?? '') > keyIndent); m++) body.push(block[m] ?? '');
          expr = body.join('\n').trim();
        } else {
          expr = scalar(rest);
        }
      } else if (name === 'labels' || name === 'annotations') {
        const into = name === 'labels' ? labels : annotations;
        for (let m = k + 1; m < block.length && ((block[m] ?? '').trim() === '' || indentOf(block[m] ?? '') > keyIndent); m++) {
          const entry = /^\s*(\w+):\s*(.*)$/.exec(block[m] ?? '');
          if (entry !== null) into.set(entry[1] ?? '', scalar(entry[2] ?? ''));
        }
      }
    }
    rules.push({ name: head[2] ?? '', expr, labels, annotations });
  }
  return rules;
}

// ------------------------------------------------------------------------- PromQL scanning

/** The expression with the inside of every string literal blanked (same length), so that a label value is not read as a name. */
function blankStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, (s) => `${s[0]}${' '.repeat(s.length - 2)}${s[0]}`);
}

function identifierEndingAt(src: string, end: number): string {
  let k = end;
  while (k >= 0 && /[A-Za-z0-9_:]/.test(src[k] ?? '')) k--;
  return src.slice(k + 1, end + 1);
}

/** The function or aggregation whose parenthesis opens at `open` ('' for a plain grouping parenthesis). */
function callNameAt(src: string, open: number): string {
  let k = open - 1;
  while (k >= 0 && /\s/.test(src[k] ?? '')) k--;
  if (src[k] === ')') {
    // `sum by (labels) (…)`: skip the modifier's label list and keyword.
    let depth = 0;
    for (; k >= 0; k--) {
      if (src[k] === ')') depth++;
      else if (src[k] === '(' && --depth === 0) break;
    }
    k--;
    while (k >= 0 && /\s/.test(src[k] ?? '')) k--;
    const keyword = identifierEndingAt(src, k);
    if (keyword !== 'by' && keyword !== 'without') return '';
    k -= keyword.length;
    while (k >= 0 && /\s/.test(src[k] ?? '')) k--;
  }
  return identifierEndingAt(src, k);
}

/** The innermost function or aggregation call around position `at`. */
function enclosingCall(src: string, at: number): string {
  let depth = 0;
  for (let k = at - 1; k >= 0; k--) {
    if (src[k] === ')') depth++;
    else if (src[k] === '(') {
      if (depth === 0) return callNameAt(src, k);
      depth--;
    }
  }
  return '';
}

/** Every call around position `at`, innermost first. */
function enclosingCalls(src: string, at: number): string[] {
  const calls: string[] = [];
  let depth = 0;
  for (let k = at - 1; k >= 0; k--) {
    if (src[k] === ')') depth++;
    else if (src[k] === '(') {
      if (depth === 0) calls.push(callNameAt(src, k));
      else depth--;
    }
  }
  return calls;
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

/** Metric names other than phsync_*: identifiers that are not functions, keywords or labels. */
function otherMetricNames(expr: string): string[] {
  const src = blankStrings(expr)
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\boffset\s+\w+/g, ' ');
  return [...src.matchAll(/(?<![A-Za-z0-9_:$.])([A-Za-z_][A-Za-z0-9_:]*)(?![A-Za-z0-9_:])(?!\s*\()/g)]
    .map((m) => m[1] ?? '')
    .filter((n) => !n.startsWith('phsync_') && !PROMQL_KEYWORDS.has(n.toLowerCase()));
}

interface MetricUse {
  readonly name: string;
  readonly spec: MetricSpec | undefined;
  readonly suffix: '' | '_bucket' | '_sum' | '_count';
  readonly problems: readonly string[];
}

/** The phsync metrics an expression names, each checked against the catalog and for how it is used. */
function metricUses(expr: string): MetricUse[] {
  const src = blankStrings(expr);
  const uses: MetricUse[] = [];
  for (const match of src.matchAll(/(?<![A-Za-z0-9_:$])phsync_[A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const at = match.index;
    const problems: string[] = [];
    let spec = CATALOG.get(name);
    let suffix: MetricUse['suffix'] = '';
    if (spec === undefined) {
      const m = /^(.*)(_bucket|_sum|_count)$/.exec(name);
      const base = m === null ? undefined : CATALOG.get(m[1] ?? '');
      if (m !== null && base !== undefined) {
        spec = base;
        suffix = m[2] as MetricUse['suffix'];
        if (base.type !== 'histogram') problems.push(`${name}: ${m[2]} on ${base.name}, a ${base.type}`);
      } else {
        problems.push(`${name} is not in src/observe/metric-catalog.ts`);
      }
    } else if (spec.type === 'histogram') {
      problems.push(`${name} is a histogram: use ${name}_bucket, _sum or _count`);
    }
    if (spec !== undefined && enclosingCall(src, at) !== 'label_values') {
      const call = enclosingCall(src, at);
      const counterLike = spec.type === 'counter' || suffix !== '';
      if (counterLike && !COUNTER_FUNCTIONS.has(call)) problems.push(`${name} is a counter, used in ${call === '' ? 'no function' : `${call}()`}: only rate(), irate() or increase() make sense of it`);
      if (!counterLike && COUNTER_FUNCTIONS.has(call)) problems.push(`${name} is a gauge, used in ${call}(): rate/irate/increase are for counters (deriv or delta for a gauge)`);
      if (suffix === '_bucket' && !enclosingCalls(src, at).includes('histogram_quantile')) problems.push(`${name} outside histogram_quantile()`);
      // Label matchers right after the name: only the metric's labels, the target's, and le on buckets.
      const after = src.slice(at + name.length);
      const selector = /^\s*\{([^}]*)\}/.exec(after);
      if (selector !== null) {
        const allowed = new Set([...spec.labels, 'job', 'instance', ...(suffix === '_bucket' ? ['le'] : [])]);
        for (const matcher of (selector[1] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
          const label = matcher[1] ?? '';
          if (!allowed.has(label)) problems.push(`${name}{${label}=…}: ${spec.name} has no label ${label} (labels: ${spec.labels.join(', ') || 'none'})`);
        }
      }
    }
    uses.push({ name, spec, suffix, problems });
  }
  return uses;
}

/** The problems of a list of expressions, with the raw counter uses the allow-list permits removed. */
function checkExpressions(exprs: readonly { readonly where: string; readonly expr: string }[]): { problems: string[]; names: Set<string>; rawUsed: Set<string> } {
  const problems: string[] = [];
  const names = new Set<string>();
  const rawUsed = new Set<string>();
  for (const { where, expr } of exprs) {
    for (const use of metricUses(expr)) {
      if (use.spec !== undefined) names.add(use.spec.name);
      for (const problem of use.problems) {
        const allowed = RAW_COUNTER_USES.find((a) => a.where === where && a.metric === use.name && problem.includes('is a counter, used in'));
        if (allowed !== undefined) rawUsed.add(`${allowed.where} ${allowed.metric}`);
        else problems.push(`${where}: ${problem}`);
      }
    }
  }
  return { problems, names, rawUsed };
}

// ------------------------------------------------------------------------- dashboard

interface Panel {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly title?: unknown;
  readonly datasource?: unknown;
  readonly gridPos?: { readonly h?: unknown; readonly w?: unknown; readonly x?: unknown; readonly y?: unknown };
  readonly targets?: readonly { readonly expr?: unknown; readonly refId?: unknown; readonly datasource?: unknown }[];
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly schemaVersion?: unknown;
  readonly panels?: readonly Panel[];
  readonly templating?: { readonly list?: readonly { readonly name?: unknown; readonly type?: unknown; readonly query?: unknown; readonly definition?: unknown; readonly datasource?: unknown }[] };
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const usesDatasourceVariable = (ds: unknown): boolean =>
  ds === '${datasource}' || ds === '$datasource' || (typeof ds === 'object' && ds !== null && (ds as { uid?: unknown }).uid === '${datasource}' && (ds as { type?: unknown }).type === 'prometheus');

function dashboardExpressions(dashboard: Dashboard): { where: string; expr: string }[] {
  const exprs: { where: string; expr: string }[] = [];
  for (const panel of allPanels(dashboard.panels ?? [])) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr === 'string') exprs.push({ where: `panel ${String(panel.id)} "${String(panel.title)}" ${String(target.refId)}`, expr: target.expr });
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    const q = variable.query;
    const text = typeof q === 'string' ? q : typeof q === 'object' && q !== null ? (q as { query?: unknown }).query : undefined;
    if (variable.type === 'query' && typeof text === 'string') exprs.push({ where: `variable ${String(variable.name)}`, expr: text });
  }
  return exprs;
}

/** A dashboard query as a plain PromQL expression: Grafana's variables replaced by sample values. */
function substituteGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '6h')
    .replace(/\$\{?(\w+)\}?/g, '.*');
}

// ------------------------------------------------------------------------------ tests

test('promtool accepts the alert rules', () => {
  const r = promtool(['check', 'rules', RULES]);
  assert.equal(r.status, 0, `promtool check rules ${RULES} failed:\n${r.output}`);
  const found = /SUCCESS: (\d+) rules found/.exec(r.output);
  assert.ok(found, r.output);
  // The little parser below reads the same rules as promtool (all alerts, no recording rules).
  assert.equal(parseAlertRules(read(RULES)).length, Number(found[1]), 'every rule is an alert this test can read');
});

test('the promtool unit tests of the alert rules pass', () => {
  const r = promtool(['test', 'rules', RULE_TESTS]);
  assert.equal(r.status, 0, `promtool test rules ${RULE_TESTS} failed:\n${r.output}`);
});

test('every alert is tested firing and silent, and carries a severity and annotations naming what it is about', () => {
  const rules = parseAlertRules(read(RULES));
  assert.ok(rules.length >= 7);
  assert.equal(new Set(rules.map((r) => r.name)).size, rules.length, 'alert names are unique');
  for (const name of ['PhsyncNoSuccessfulCycle', 'PhsyncHighFailureRatio', 'PhsyncRunStuck', 'PhsyncCycleFailed', 'PhsyncTargetRetries', 'PhsyncMassDisablePrevented']) {
    assert.ok(rules.some((r) => r.name === name), `alert ${name} is defined`);
  }
  // eval_time blocks of the unit tests: which alerts are expected firing, which silent.
  const firing = new Set<string>();
  const silent = new Set<string>();
  for (const block of read(RULE_TESTS).split(/\n\s*- eval_time:/).slice(1)) {
    const alertname = /\n\s*alertname:\s*(\S+)/.exec(block)?.[1];
    if (alertname === undefined) continue;
    if (/\n\s*exp_alerts:\s*\[\]/.test(block)) silent.add(alertname);
    else if (/\n\s*exp_alerts:\s*\n\s*- exp_labels:/.test(block)) firing.add(alertname);
  }
  for (const rule of rules) {
    assert.ok(rule.expr.length > 0, `${rule.name} has an expr`);
    assert.match(rule.labels.get('severity') ?? '', /^(page|ticket)$/, `${rule.name}: severity page or ticket`);
    const about = NOT_PER_SOURCE[rule.name] ?? 'source';
    for (const key of ['summary', 'description']) {
      const text = rule.annotations.get(key) ?? '';
      assert.ok(text.length > 0, `${rule.name} has a ${key}`);
      assert.ok(text.includes(`{{ $labels.${about} }}`), `${rule.name}'s ${key} names the ${about}: ${text}`);
    }
    assert.ok(firing.has(rule.name), `${RULE_TESTS} has a case where ${rule.name} fires`);
    assert.ok(silent.has(rule.name), `${RULE_TESTS} has a case where ${rule.name} must not fire`);
  }
});

test('the alert rules name only catalog metrics, each used as its type allows', () => {
  const rules = parseAlertRules(read(RULES));
  const { problems, names, rawUsed } = checkExpressions(rules.map((r) => ({ where: `alert ${r.name}`, expr: r.expr })));
  assert.deepEqual(problems, []);
  assert.ok(names.has('phsync_last_success_timestamp_seconds') && names.has('phsync_users_failed_total'), [...names].join(', '));
  // Every allowance is still needed.
  assert.deepEqual([...rawUsed].sort(), RAW_COUNTER_USES.map((a) => `${a.where} ${a.metric}`).sort());
  // No other metric than phsync's and the two standard ones.
  for (const rule of rules) {
    assert.deepEqual(otherMetricNames(rule.expr).filter((n) => n !== 'up' && n !== 'push_time_seconds'), [], `${rule.name} names only phsync metrics, up and push_time_seconds`);
  }
  assert.deepEqual(otherMetricNames('rate(node_cpu_seconds_total{mode="idle"}[5m]) > on (instance) up unless process_start_time_seconds'), ['node_cpu_seconds_total', 'up', 'process_start_time_seconds']);
});

test('the metric checks catch a wrong name, a wrong suffix, a counter used raw, a gauge in rate() and an unknown label', () => {
  const problems = (expr: string): string[] => metricUses(expr).flatMap((u) => u.problems);
  assert.deepEqual(problems('sum by (source) (rate(phsync_users_scanned_total[5m]))'), []);
  assert.deepEqual(problems('histogram_quantile(0.95, sum by (le) (rate(phsync_batch_hash_seconds_bucket{kernel="x"}[5m])))'), []);
  assert.deepEqual(problems('max by (job) (min_over_time(phsync_run_in_progress{source="phsync_users_x"}[10m]))'), []);
  assert.match(problems('rate(phsync_users_scaned_total[5m])').join(), /not in src\/observe\/metric-catalog/);
  assert.match(problems('rate(phsync_users_failed_total_bucket[5m])').join(), /not in|_bucket on/);
  assert.match(problems('rate(phsync_peak_rss_bytes_count[5m])').join(), /_count on phsync_peak_rss_bytes, a gauge/);
  assert.match(problems('sum(phsync_users_failed_total)').join(), /is a counter, used in sum\(\)/);
  assert.match(problems('phsync_users_failed_total > 0').join(), /is a counter, used in no function/);
  assert.match(problems('rate(phsync_pool_queue_depth[5m])').join(), /is a gauge, used in rate\(\)/);
  assert.match(problems('phsync_cycle_duration_seconds > 1').join(), /is a histogram/);
  assert.match(problems('sum by (le) (rate(phsync_cycle_duration_seconds_bucket[5m]))').join(), /outside histogram_quantile/);
  assert.match(problems('max(phsync_pool_workers{source="corp"})').join(), /has no label source/);
});

test('the dashboard: valid JSON, the datasource and source variables, unique ids, a grid position for every panel, every query on ${datasource}', () => {
  const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
  assert.ok(typeof dashboard.schemaVersion === 'number' && dashboard.schemaVersion >= 36, `schemaVersion ${String(dashboard.schemaVersion)} >= 36`);
  const variables = dashboard.templating?.list ?? [];
  const ds = variables.find((v) => v.name === 'datasource');
  assert.equal(ds?.type, 'datasource');
  assert.equal(ds.query, 'prometheus');
  const source = variables.find((v) => v.name === 'source');
  assert.equal(source?.type, 'query');
  assert.ok(usesDatasourceVariable(source.datasource), 'the source variable queries ${datasource}');
  assert.match(JSON.stringify(source.query), /label_values\(phsync_users_scanned_total, ?source\)/);

  const panels = allPanels(dashboard.panels ?? []);
  assert.ok(panels.length >= 20, `${panels.length} panels`);
  const ids = panels.map((p) => p.id);
  assert.ok(ids.every((id) => Number.isInteger(id)), 'every panel has an integer id');
  assert.equal(new Set(ids).size, ids.length, `panel ids are unique: ${ids.join(',')}`);
  const cells = new Map<string, unknown>();
  for (const panel of panels) {
    const g = panel.gridPos;
    assert.ok(g !== undefined && [g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && (n as number) >= 0), `panel ${String(panel.id)} has a gridPos`);
    const [h, w, x, y] = [g.h, g.w, g.x, g.y] as number[];
    assert.ok((x ?? 0) + (w ?? 0) <= 24 && (w ?? 0) > 0 && (h ?? 0) > 0, `panel ${String(panel.id)} fits the 24-column grid`);
    for (let row = y ?? 0; row < (y ?? 0) + (h ?? 0); row++) {
      for (let col = x ?? 0; col < (x ?? 0) + (w ?? 0); col++) {
        const other = cells.get(`${row},${col}`);
        assert.equal(other, undefined, `panel ${String(panel.id)} overlaps panel ${String(other)}`);
        cells.set(`${row},${col}`, panel.id);
      }
    }
    if (panel.type === 'row') {
      assert.equal(panel.targets, undefined, 'a row holds no query');
      continue;
    }
    assert.ok(usesDatasourceVariable(panel.datasource), `panel ${String(panel.id)} "${String(panel.title)}" uses the \${datasource} variable: ${JSON.stringify(panel.datasource)}`);
    assert.ok((panel.targets ?? []).length > 0, `panel ${String(panel.id)} has a query`);
    for (const target of panel.targets ?? []) {
      assert.ok(typeof target.expr === 'string' && target.expr.length > 0, `panel ${String(panel.id)} target ${String(target.refId)} has an expr`);
      if (target.datasource !== undefined) assert.ok(usesDatasourceVariable(target.datasource), `panel ${String(panel.id)} target ${String(target.refId)} uses \${datasource}`);
    }
  }
});

test('the dashboard names only catalog metrics, each used as its type allows, and covers the catalog', () => {
  const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
  const { problems, names } = checkExpressions(dashboardExpressions(dashboard));
  assert.deepEqual(problems, []);
  // Every metric the engine exports is on the dashboard somewhere.
  assert.deepEqual(METRICS.map((m) => m.name).filter((n) => !names.has(n)), []);
});

test('promtool parses every dashboard query (Grafana variables replaced)', () => {
  const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
  const rules = dashboardExpressions(dashboard)
    .filter((e) => !e.where.startsWith('variable'))
    .map((e, i) => ({ record: `dashboard:query_${i}`, expr: substituteGrafanaVariables(e.expr), labels: { where: e.where } }));
  assert.ok(rules.length >= 20);
  using dir = tempDir('phsync-ops-');
  const file = dir.file('dashboard-queries.yml');
  // JSON is YAML: promtool reads it as a rules file.
  writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }, null, 2));
  const r = promtool(['check', 'rules', file]);
  assert.equal(r.status, 0, `a dashboard query does not parse:\n${r.output}`);
});
