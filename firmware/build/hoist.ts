/**
 * Espruino hoists no `var` (measured on 2v29: `if (false) { var x } x = 1` assigns a global `x`, and `y = 2; var y`
 * too). terser's hoist_vars leaves a function's only `var` where it is, and its inlining writes `...; var n` after a
 * return, so after minifying, every `var` that is not a statement of its function's own body is rewritten as an
 * assignment and declared at the top of that function instead: the same program in JavaScript, and on Espruino.
 * checkDeclarationsFirst (gate.ts) then confirms it.
 */
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

interface Edit {
  start: number;
  end: number;
  text: string;
}

export function hoistBlockVariables(code: string): string {
  const program = acorn.parse(code, { ecmaVersion: 5, sourceType: 'script' });
  const edits: Edit[] = [];

  const hoistIn = (body: acorn.AnyNode[], insertAt: number): void => {
    // The leading run of declarations stays as it is: those run before anything else in the function.
    const leading = new Set<acorn.AnyNode>();
    for (const statement of body) {
      if (statement.type === 'VariableDeclaration') leading.add(statement);
      else if (statement.type !== 'FunctionDeclaration') break;
    }
    const hoisted: string[] = [];
    const nested: Array<{ body: acorn.AnyNode[]; insertAt: number }> = [];
    // `var a = 1, b` becomes `a = 1, b`: the same assignments, and reading `b` does nothing.
    const dropKeyword = (node: acorn.VariableDeclaration): void => {
      for (const declaration of node.declarations) {
        const name = (declaration.id as acorn.Identifier).name;
        if (!hoisted.includes(name)) hoisted.push(name);
      }
      if (code.slice(node.start, node.start + 4) !== 'var ') throw new Error(`hoist: no "var " at offset ${node.start}`);
      edits.push({ start: node.start, end: node.start + 4, text: '' });
    };
    const visitor: walk.RecursiveVisitors<null> = {
      FunctionDeclaration(node) {
        nested.push({ body: (node.body as acorn.BlockStatement).body, insertAt: node.body.start + 1 });
      },
      FunctionExpression(node) {
        nested.push({ body: (node.body as acorn.BlockStatement).body, insertAt: node.body.start + 1 });
      },
      VariableDeclaration(node, state, visit) {
        for (const declaration of node.declarations) if (declaration.init) visit(declaration.init, state);
        if (!leading.has(node)) dropKeyword(node);
      },
    };
    for (const statement of body) walk.recursive(statement, null, visitor);
    if (hoisted.length > 0) edits.push({ start: insertAt, end: insertAt, text: 'var ' + hoisted.join(',') + ';' });
    for (const inner of nested) hoistIn(inner.body, inner.insertAt);
  };

  hoistIn(program.body, 0);
  if (edits.length === 0) return code;
  // Every edit replaces a whole node or inserts at a body start: none overlap, so apply them from the end.
  edits.sort((a, b) => b.start - a.start || b.end - a.end);
  let result = code;
  for (const edit of edits) result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  return result;
}
