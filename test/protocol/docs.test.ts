import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { protocolExamples } from './fixtures/examples';

describe('docs/protocol.md: worked examples match the codec', () => {
  const document = readFileSync(path.join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const match of document.matchAll(/<!-- example: ([a-z-]+) -->\s*```text\n([\s\S]*?)```/g)) {
    blocks.set(match[1], match[2].replace(/\s+/g, ''));
  }
  const examples = protocolExamples();

  for (const name of Object.keys(examples)) {
    it(`"${name}"`, () => {
      assert.ok(blocks.has(name), `docs/protocol.md has no example block "${name}"`);
      assert.equal(blocks.get(name), examples[name], `example "${name}" is stale: regenerate with npx tsx test/protocol/fixtures/examples.ts`);
    });
  }
  it('has no example blocks the codec does not produce', () => {
    assert.deepEqual([...blocks.keys()].filter((name) => !(name in examples)), []);
  });
});
