import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../errors.ts';
import { parseOutputSpec } from './output-spec.ts';

test('BuildKit forms: types, defaults, shorthands, CSV-quoted names', () => {
  assert.deepEqual(parseOutputSpec('type=oci,dest=out.tar'), { type: 'oci', dest: 'out.tar', tar: true });
  assert.deepEqual(parseOutputSpec('type=oci,dest=dir,tar=false'), { type: 'oci', dest: 'dir', tar: false });
  assert.deepEqual(parseOutputSpec('type=docker,dest=-'), { type: 'docker', dest: '-', tar: true });
  assert.deepEqual(parseOutputSpec('type=docker,dest=x.tar,name=app:1'), { type: 'docker', dest: 'x.tar', tar: true, names: ['app:1'] });
  assert.deepEqual(parseOutputSpec('type=oci,dest=x,"name=app:1,app:2",tar=0'), { type: 'oci', dest: 'x', tar: false, names: ['app:1', 'app:2'] });
  assert.deepEqual(parseOutputSpec('type=local,dest=out'), { type: 'local', dest: 'out' });
  assert.deepEqual(parseOutputSpec('type=tar,dest=-'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutputSpec('out/dir'), { type: 'local', dest: 'out/dir' });
  assert.deepEqual(parseOutputSpec('-'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutputSpec('type=tar,"dest=a,b"'), { type: 'tar', dest: 'a,b' });
  assert.deepEqual(parseOutputSpec('type=tar,"dest=say ""hi"""'), { type: 'tar', dest: 'say "hi"' });
});

test('clear one-line errors', () => {
  const cases: [string, RegExp][] = [
    ['dest=out', /type is required/],
    ['type=oci', /type=oci needs dest=/],
    ['type=local,dest=-', /type=local writes a directory/],
    ['type=oci,dest=-,tar=false', /tar=false writes a directory/],
    ['type=oci,dest=x,tar=maybe', /"maybe" is not a boolean/],
    ['type=local,dest=x,name=a', /type=local does not take name \(it takes dest\)/],
    ['type=oci,dest=x,compression=zstd', /does not take compression/],
    ['type=registry,name=x', /not supported.*tsbuild push/],
    ['type=wat,dest=x', /unknown type "wat"/],
    ['type=oci,type=docker,dest=x', /type is given twice/],
    ['type=oci,"dest=x', /not closed/],
    ['type=oci,dest="x"', /quote may only start a field/],
    ['', /empty/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(() => parseOutputSpec(spec), (e) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'), spec);
  }
});
