import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { pointWidth } from '../../firmware/modbus/points';
import { planReads, resolvePoints, type Profile } from '../../firmware/modbus/profile';

const directory = path.resolve(__dirname, '../../profiles');
const schema = JSON.parse(readFileSync(path.join(directory, 'profile.schema.json'), 'utf8'));
const profileFiles = readdirSync(directory).filter((name) => name.endsWith('.json') && name !== 'profile.schema.json');

describe('Meter profiles', () => {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const validate = ajv.compile(schema);

  it('includes the required meters', () => {
    for (const id of ['eastron-sdm120', 'eastron-sdm630', 'tuf2000-water', 'generic']) assert.ok(profileFiles.includes(`${id}.json`), id);
  });

  for (const file of profileFiles) {
    describe(file, () => {
      const profile = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as Profile;

      it('is valid against profile.schema.json, names its file and cites its sources', () => {
        assert.ok(validate(profile), ajv.errorsText(validate.errors));
        assert.equal(`${profile.id}.json`, file);
        assert.ok(profile.sources && profile.sources.length > 0);
      });

      it('has unique point names and no overlapping registers', () => {
        const points = resolvePoints(profile);
        assert.equal(new Set(points.map((point) => point.name)).size, points.length);
        const used = new Map<string, string>();
        for (const point of points) {
          for (let offset = 0; offset < pointWidth(point.type); offset++) {
            const key = `${point.table}:${point.address + offset}`;
            assert.ok(!used.has(key), `${point.name} overlaps ${used.get(key)} at ${key}`);
            used.set(key, point.name);
          }
        }
      });

      it('plans reads within the profile limits that cover every point', () => {
        const points = resolvePoints(profile);
        const blocks = planReads(points, profile.maximumRegistersPerRead, profile.maximumGap);
        const covered = blocks.flatMap((block) => block.points.map((point) => point.name));
        assert.deepEqual(covered.sort(), points.map((point) => point.name).sort());
        for (const block of blocks) {
          if (block.table === 'holding' || block.table === 'input') assert.ok(block.quantity <= (profile.maximumRegistersPerRead ?? 125));
          for (const point of block.points) assert.ok(point.address >= block.address && point.address + pointWidth(point.type) <= block.address + block.quantity);
        }
        assert.ok(blocks.length < points.length || points.length === 1, 'adjacent points are merged');
      });
    });
  }

  it('rejects a broken profile with a precise path', () => {
    const broken = { id: 'Bad Id', points: [{ name: 'x', address: 70000, type: 'float64' }] };
    assert.equal(validate(broken), false);
    const paths = (validate.errors ?? []).map((error) => error.instancePath);
    assert.ok(paths.includes('/id'));
    assert.ok(paths.includes('/points/0/address'));
    assert.ok(paths.includes('/points/0/type'));
  });
});
