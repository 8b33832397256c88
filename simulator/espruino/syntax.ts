/**
 * The syntax Espruino 2v29 lacks (../shared/espruino.md, "Syntax"). V8 would run it, so the virtual board
 * checks every script it is given and fails it the way a developer must notice: destructuring, default and
 * rest parameters, spread, computed keys, async/await, generators, `**`, optional chaining and labels.
 * (On the real interpreter some of these fail silently with wrong values; here they fail loudly.)
 * Arrow functions, classes, let/const, template literals and for...of are accepted: Espruino has them.
 */
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

export interface UnsupportedSyntax {
  construct: string;
  line: number;
  column: number;
}

const checked = new Map<string, UnsupportedSyntax | null>();

/** The first construct Espruino cannot run, or null. Results are cached per script text. */
export function findUnsupportedSyntax(code: string): UnsupportedSyntax | null {
  const cached = checked.get(code);
  if (cached !== undefined) return cached;
  let found: UnsupportedSyntax | null = null;
  let program: acorn.Program | null = null;
  try {
    program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true, allowReturnOutsideFunction: true });
  } catch {
    // A real syntax error: V8 reports it itself when the script runs.
  }
  if (program) {
    const report = (construct: string, node: acorn.Node): void => {
      if (!found) found = { construct, line: node.loc!.start.line, column: node.loc!.start.column };
    };
    const functionChecks = (node: acorn.Function): void => {
      if (node.async) report('async function', node);
      if (node.generator) report('generator function', node);
      for (const parameter of node.params) {
        if (parameter.type === 'AssignmentPattern') report('default parameter', parameter);
        else if (parameter.type === 'RestElement') report('rest parameter', parameter);
        else if (parameter.type === 'ObjectPattern' || parameter.type === 'ArrayPattern') report('destructuring parameter', parameter);
      }
    };
    walk.full(program, (node) => {
      switch (node.type) {
        case 'ObjectPattern':
        case 'ArrayPattern':
          report('destructuring', node);
          break;
        case 'SpreadElement':
          report('spread', node);
          break;
        case 'RestElement':
          report('rest element', node);
          break;
        case 'AwaitExpression':
          report('await', node);
          break;
        case 'YieldExpression':
          report('yield', node);
          break;
        case 'ChainExpression':
          report('optional chaining', node);
          break;
        case 'LabeledStatement':
          report('labeled statement', node);
          break;
        case 'BinaryExpression':
          if ((node as acorn.BinaryExpression).operator === '**') report('** operator', node);
          break;
        case 'AssignmentExpression':
          if ((node as acorn.AssignmentExpression).operator === '**=') report('**= operator', node);
          break;
        case 'Property':
          if ((node as acorn.Property).computed) report('computed property key', node);
          break;
        case 'FunctionDeclaration':
        case 'FunctionExpression':
        case 'ArrowFunctionExpression':
          functionChecks(node as acorn.Function);
          break;
        default:
          break;
      }
    });
  }
  if (checked.size > 32) checked.clear();
  checked.set(code, found);
  return found;
}
