import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** Where a module awaits at its top level. */
export interface TopLevelAwait {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/**
 * The top-level awaits of `file` (an `await`, a `for await` or an `await using` outside any function),
 * which make it an async module in V8.
 */
function topLevelAwaits(file: string, source: ts.SourceFile): TopLevelAwait[] {
  const found: TopLevelAwait[] = [];
  const at = (node: ts.Node): TopLevelAwait => ({ file, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, text: node.getText(source).slice(0, 80) });
  const visit = (node: ts.Node): void => {
    // A function's body runs when it is called, not when the module is evaluated.
    if (ts.isFunctionLike(node)) return;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier !== undefined)) found.push(at(node));
    if (ts.isVariableDeclarationList(node) && (node.flags & ts.NodeFlags.AwaitUsing) === ts.NodeFlags.AwaitUsing) found.push(at(node));
    ts.forEachChild(node, visit);
  };
  source.statements.forEach(visit);
  return found;
}

/** The relative module specifiers `source` loads, statically or with import() of a literal; types only left out. */
function relativeImports(source: ts.SourceFile): string[] {
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && node.importClause?.isTypeOnly !== true && ts.isStringLiteral(node.moduleSpecifier)) specifiers.push(node.moduleSpecifier.text);
    if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) specifiers.push(node.moduleSpecifier.text);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0])) specifiers.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/**
 * Every module of the project that `entry` loads (following relative imports, dynamic ones with a
 * literal included; packages are not followed), and the top-level awaits among them.
 */
export function projectModuleGraph(entry: string): { readonly modules: readonly string[]; readonly topLevelAwaits: readonly TopLevelAwait[] } {
  const modules: string[] = [];
  const awaits: TopLevelAwait[] = [];
  const pending = [resolve(entry)];
  const seen = new Set<string>(pending);
  while (pending.length > 0) {
    const file = pending.pop()!;
    modules.push(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, file.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
    awaits.push(...topLevelAwaits(file, source));
    for (const specifier of relativeImports(source)) {
      const next = resolve(dirname(file), specifier);
      if (!seen.has(next)) {
        seen.add(next);
        pending.push(next);
      }
    }
  }
  return { modules, topLevelAwaits: awaits };
}
