// The contract table for tests/unit/test_contract.c: each case's verdict
// (MET, UNMET, INVALID) as @balena/contrato gives it, with the device
// contract the balena Supervisor builds (src/lib/contracts.ts) and the
// supervisor's check of a contract's shape (a string type of six, slug
// and version strings, requires an array; other requirement fields
// dropped). Run: NODE_PATH=<dir>/node_modules node contracts-table.js
const { Contract, Universe } = require('@balena/contrato');

function device(o) {
  const u = new Universe();
  u.addChildren([
    new Contract({ type: 'sw.supervisor', version: o.supervisor }),
    new Contract({ type: 'sw.application', slug: 'balena-supervisor', version: o.supervisor }),
    new Contract({ type: 'hw.device-type', slug: o.device_type }),
    new Contract({ type: 'arch.sw', slug: o.arch }),
  ]);
  if (o.l4t) u.addChild(new Contract({ type: 'sw.l4t', version: o.l4t }));
  if (o.os_version && o.os_slug) u.addChild(new Contract({ type: 'sw.os', slug: o.os_slug, version: o.os_version }));
  if (o.kernel_version && o.kernel_slug) u.addChild(new Contract({ type: 'sw.kernel', version: o.kernel_version, slug: o.kernel_slug }));
  return u;
}

const TYPES = ['sw.supervisor', 'sw.l4t', 'hw.device-type', 'arch.sw', 'sw.os', 'sw.kernel'];
function check(contract) {
  const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
  const optStr = (x) => x === undefined || x === null || typeof x === 'string';
  if (!isObj(contract)) throw new Error('contract is not an object');
  if (!optStr(contract.type)) throw new Error('Expecting string at type');
  if (!optStr(contract.slug)) throw new Error('Expecting string at slug');
  const out = { ...contract, type: contract.type ?? 'sw.container' };
  if (contract.requires != null) {
    if (!Array.isArray(contract.requires)) throw new Error('Expecting array at requires');
    const one = (r) => {
      if (!isObj(r) || typeof r.type !== 'string') throw new Error('Expecting string at requires.type');
      if (!optStr(r.slug) || !optStr(r.version)) throw new Error('Expecting string at requires.slug/version');
      if (!TYPES.includes(r.type)) throw new Error(`${r.type} is not a valid contract requirement type`);
      const o = { type: r.type };
      for (const k of ['slug', 'version', 'data']) if (r[k] !== undefined) o[k] = r[k];
      return o;
    };
    out.requires = contract.requires.map((r) => (isObj(r) && Array.isArray(r.or) ? { or: r.or.map(one) } : one(r)));
  }
  return out;
}

function verdict(dev, contract) {
  let parsed;
  try { parsed = check(contract); } catch (e) { return 'INVALID'; }
  return device(dev).satisfiesChildContract(new Contract(parsed)) ? 'MET' : 'UNMET';
}

const NUC = { supervisor: '17.4.2', device_type: 'intel-nuc', arch: 'amd64', os_slug: 'balena-os',
  os_version: '2.88.4+rev1', kernel_slug: 'linux', kernel_version: '5.15.150' };
const JETSON = { ...NUC, device_type: 'jetson-nano', arch: 'aarch64', l4t: '32.4.3' };
const PRE = { ...NUC, supervisor: '17.5.0-beta.1', os_version: '6.0.0-rc1' };
const DEBIAN = { ...NUC, os_slug: 'debian', os_version: '12 (bookworm)', kernel_version: '6.1.0' };
const BARE = { supervisor: '17.4.2', device_type: 'intel-nuc', arch: 'amd64' };
const c = (...requires) => ({ type: 'sw.container', slug: 'x', requires });
const cases = [
 ['no requires', NUC, { slug: 'x' }],
 ['sw.supervisor >=16', NUC, c({ type: 'sw.supervisor', version: '>=16.0.0' })],
 ['sw.supervisor >=18', NUC, c({ type: 'sw.supervisor', version: '>=18' })],
 ['sw.supervisor "*"', NUC, c({ type: 'sw.supervisor', version: '*' })],
 ['sw.supervisor 17.x', NUC, c({ type: 'sw.supervisor', version: '17.x' })],
 ['sw.supervisor exact 17.0.1', NUC, c({ type: 'sw.supervisor', version: '17.0.1' })],
 ['sw.os >=2.88.4 (dev 2.88.4+rev1)', NUC, c({ type: 'sw.os', version: '>=2.88.4' })],
 ['sw.os >2.88.4 (dev 2.88.4+rev1)', NUC, c({ type: 'sw.os', version: '>2.88.4' })],
 ['sw.os 2.88.4+rev9 (build meta ignored)', NUC, c({ type: 'sw.os', version: '2.88.4+rev9' })],
 ['sw.os slug ubuntu', NUC, c({ type: 'sw.os', slug: 'ubuntu', version: '*' })],
 ['sw.os no version', NUC, c({ type: 'sw.os' })],
 ['sw.l4t on non-Jetson', NUC, c({ type: 'sw.l4t', version: '>=32' })],
 ['sw.l4t 32.4.3 on Jetson', JETSON, c({ type: 'sw.l4t', version: '32.4.3' })],
 ['sw.l4t "32.4" on Jetson 32.4.3', JETSON, c({ type: 'sw.l4t', version: '32.4' })],
 ['sw.l4t <32 on Jetson', JETSON, c({ type: 'sw.l4t', version: '<32' })],
 ['or: l4t (missing) | dt intel-nuc', NUC, c({ or: [{ type: 'sw.l4t', version: '32.x' }, { type: 'hw.device-type', slug: 'intel-nuc' }] })],
 ['or: both fail', NUC, c({ or: [{ type: 'hw.device-type', slug: 'raspberrypi4-64' }, { type: 'arch.sw', slug: 'armv7hf' }] })],
 ['hw.device-type slug match', NUC, c({ type: 'hw.device-type', slug: 'intel-nuc' })],
 ['hw.device-type slug mismatch', NUC, c({ type: 'hw.device-type', slug: 'raspberrypi3' })],
 ['hw.device-type no slug', NUC, c({ type: 'hw.device-type' })],
 ['arch.sw amd64', NUC, c({ type: 'arch.sw', slug: 'amd64' })],
 ['unknown type sw.blah', NUC, c({ type: 'sw.blah', version: '1' })],
 ['invalid range ">=abc" (string compare)', NUC, c({ type: 'sw.supervisor', version: '>=abc' })],
 ['kernel "invalid-version"', NUC, c({ type: 'sw.kernel', slug: 'linux', version: 'invalid-version' })],
 ['kernel 5.15', NUC, c({ type: 'sw.kernel', version: '5.15' })],
 ['prerelease sup 17.1.0-beta.1 vs >=17.0.0', PRE, c({ type: 'sw.supervisor', version: '>=17.0.0' })],
 ['prerelease sup vs >=17.1.0-beta.0', PRE, c({ type: 'sw.supervisor', version: '>=17.1.0-beta.0' })],
 ['prerelease os 6.0.0-rc1 vs ^6.0.0-0', PRE, c({ type: 'sw.os', version: '^6.0.0-0' })],
 ['extra "name" field stripped', NUC, c({ type: 'hw.device-type', slug: 'intel-nuc', name: 'bogus' })],
 ['"data" kept -> must match', NUC, c({ type: 'hw.device-type', slug: 'intel-nuc', data: { foo: 1 } })],
 ['requires: "string"', NUC, { slug: 'x', requires: 'abc' }],
 ['requirement without type', NUC, c({ version: '>3' })],
 ['contract type sw.blob (not container)', NUC, { type: 'sw.blob', slug: 'x', requires: [{ type: 'arch.sw', slug: 'amd64' }] }],
 ['slug missing', NUC, { requires: [{ type: 'arch.sw', slug: 'amd64' }] }],
 ['version number 17 (non-string)', NUC, c({ type: 'sw.supervisor', version: 17 })],
 ['or: [] (empty)', NUC, c({ or: [] })],
 ['version "" (empty -> no check)', NUC, c({ type: 'sw.supervisor', version: '' })],
 ['hw.device-type with version ">=1"', NUC, c({ type: 'hw.device-type', slug: 'intel-nuc', version: '>=1' })],
 ['sw.os "2.88.4+rev1" exact', NUC, c({ type: 'sw.os', slug: 'balena-os', version: '2.88.4+rev1' })],
 ['sw.os ">6.3.0+rev4" vs 2.88.4+rev1', NUC, c({ type: 'sw.os', slug: 'balena-os', version: '>6.3.0+rev4' })],
 ['or with unsupported type inside', NUC, c({ or: [{ type: 'sw.unsupported' }, { type: 'sw.supervisor' }] })],
 ['sw.kernel ">5.15.*"', NUC, c({ type: 'sw.kernel', slug: 'linux', version: '>5.15.*' })],
 ['arch.sw on non-matching "rpi"', NUC, c({ type: 'arch.sw', slug: 'rpi' })],
];
cases.push(
 ['sup >=17.4.2', NUC, c({ type: 'sw.supervisor', version: '>=17.4.2' })],
 ['sup ^17.0.0', NUC, c({ type: 'sw.supervisor', version: '^17.0.0' })],
 ['sup >17.4.2', NUC, c({ type: 'sw.supervisor', version: '>17.4.2' })],
 ['sup 17.4.2 || 18', NUC, c({ type: 'sw.supervisor', version: '17.4.2 || 18' })],
 ['sup ~17.4', NUC, c({ type: 'sw.supervisor', version: '~17.4' })],
 ['sup with a slug', NUC, c({ type: 'sw.supervisor', slug: 'balena-supervisor', version: '*' })],
 ['os on debian (not semver): range', DEBIAN, c({ type: 'sw.os', version: '>=12' })],
 ['os on debian: exact text', DEBIAN, c({ type: 'sw.os', slug: 'debian', version: '12 (bookworm)' })],
 ['os slug debian', DEBIAN, c({ type: 'sw.os', slug: 'debian' })],
 ['no os fact', BARE, c({ type: 'sw.os' })],
 ['no kernel fact', BARE, c({ type: 'sw.kernel', version: '*' })],
 ['kernel 6.1.0 ^6', DEBIAN, c({ type: 'sw.kernel', slug: 'linux', version: '^6' })],
 ['or of three, last met', JETSON, c({ or: [{ type: 'arch.sw', slug: 'amd64' }, { type: 'sw.l4t', version: '<30' }, { type: 'hw.device-type', slug: 'jetson-nano' }] })],
 ['two requires, second unmet', NUC, c({ type: 'arch.sw', slug: 'amd64' }, { type: 'sw.supervisor', version: '>=99' })],
 ['two requires, both met', NUC, c({ type: 'arch.sw', slug: 'amd64' }, { type: 'sw.supervisor', version: '>=10.6.17' })],
 ['or and plain', JETSON, c({ or: [{ type: 'sw.l4t', version: '32.x' }] }, { type: 'arch.sw', slug: 'aarch64' })],
 ['data {} kept', NUC, c({ type: 'arch.sw', slug: 'amd64', data: {} })],
 ['requires null', NUC, { slug: 'x', requires: null }],
 ['requires []', NUC, c()],
 ['contract type number', NUC, { type: 5, requires: [] }],
 ['contract slug number', NUC, { slug: 5 }],
 ['or containing a non-object', NUC, c({ or: [5] })],
 ['requirement null', NUC, c(null)],
 ['requirement array', NUC, c([])],
 ['slug null', NUC, c({ type: 'arch.sw', slug: null })],
 ['version null', NUC, c({ type: 'sw.supervisor', version: null })],
 ['or not an array: a plain requirement', NUC, c({ type: 'arch.sw', slug: 'amd64', or: 'x' })],
 ['l4t 32.2.0 on Jetson 32.2', { ...JETSON, l4t: '32.2.0' }, c({ type: 'sw.l4t', version: '>=32.2' })],
 ['version range with spaces', NUC, c({ type: 'sw.supervisor', version: '>= 17 < 18' })],
 ['hyphen range', NUC, c({ type: 'sw.supervisor', version: '17.0.0 - 17.4.2' })],
 ['os prerelease vs plain range', PRE, c({ type: 'sw.os', version: '>=5' })],
 ['os +rev range with build', NUC, c({ type: 'sw.os', version: '>=2.88.4+rev1' })],
);
const out = cases.map(([name, dev, contract]) => ({ name, device: dev, contract, verdict: verdict(dev, contract) }));
console.log(JSON.stringify(out, null, 1));
