// Differential-test peer driver. Reads {"mode": "decide"|"bench", "cases": [...], "iterations"?: n}
// as JSON on stdin and prints JSON on stdout. Runs @cloud-copilot/iam-simulate (AGPL) only as
// this separate process; no code of it is copied into OpenSTS.
// Case shape (neutral, engine independent):
//   {principal: "arn..."|"anonymous", action, resource, resource_account,
//    context: {key: str|[str]}, identity: [doc], resource_policy: doc|null,
//    boundary: [doc]|null, scps: [[doc]], rcps: [[doc]]}
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import { loadPolicy } from '@cloud-copilot/iam-policy'
// The package exports only ".", and runUnsafeSimulation loads the resource policy without a name,
// which crashes its resource-policy analysis (TypeError reading 'name'). "core" mode therefore
// calls the same core authorize() through file paths, naming every policy, and can also pass the
// single session policy that runUnsafeSimulation drops.
const dist = './node_modules/@cloud-copilot/iam-simulate/dist/esm/'
const { authorize } = await import(dist + 'core_engine/CoreSimulatorEngine.js')
const { AwsRequestImpl } = await import(dist + 'request/request.js')
const { RequestContextImpl } = await import(dist + 'requestContext.js')
const { DiscoveryContextKeyConstraints } = await import(dist + 'context_keys/discoveryContextKeyConstraints.js')

const NAMES = { Allowed: 'allowed', ExplicitlyDenied: 'explicitDeny', ImplicitlyDenied: 'implicitDeny' }

function toSimulation(c) {
  const levels = (ls) => (ls || []).map((docs, i) => ({
    orgIdentifier: `level-${i}`,
    policies: docs.map((policy, j) => ({ name: `p${i}-${j}`, policy })),
  }))
  const sim = {
    request: {
      principal: c.principal === 'anonymous' ? { type: 'Anonymous' } : c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resource_account },
      contextVariables: c.context || {},
    },
    identityPolicies: (c.identity || []).map((policy, i) => ({ name: `id${i}`, policy })),
    serviceControlPolicies: levels(c.scps),
    resourceControlPolicies: levels(c.rcps),
  }
  if (c.resource_policy) sim.resourcePolicy = c.resource_policy
  if (c.boundary) sim.permissionBoundaryPolicies = c.boundary.map((policy, i) => ({ name: `pb${i}`, policy }))
  if (c.session_policy) sim.sessionPolicy = c.session_policy
  return sim
}

function core(sim) {
  const load = (p) => loadPolicy(p.policy, { name: p.name })
  const levels = (ls) => ls.map((l) => ({ orgIdentifier: l.orgIdentifier, policies: l.policies.map(load) }))
  const r = sim.request
  const analysis = authorize({
    request: new AwsRequestImpl(r.principal, { resource: r.resource.resource, accountId: r.resource.accountId },
      r.action, new RequestContextImpl(r.contextVariables)),
    sessionPolicy: sim.sessionPolicy ? loadPolicy(sim.sessionPolicy, { name: 'session' }) : undefined,
    identityPolicies: sim.identityPolicies.map(load),
    serviceControlPolicies: levels(sim.serviceControlPolicies),
    resourceControlPolicies: levels(sim.resourceControlPolicies),
    resourcePolicy: sim.resourcePolicy ? loadPolicy(sim.resourcePolicy, { name: 'resource' }) : undefined,
    permissionBoundaries: sim.permissionBoundaryPolicies?.map(load),
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: {} },
  })
  return analysis.result
}

// runUnsafeSimulation is used where it works (no resource or session policy), core() elsewhere.
function decide(sim) {
  try {
    const unsafe = !sim.resourcePolicy && !sim.sessionPolicy
    return NAMES[unsafe ? runUnsafeSimulation(sim, {}) : core(sim)] || 'error'
  } catch (e) {
    return 'error: ' + String(e && e.message || e)
  }
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const sims = input.cases.map(toSimulation)
if (input.mode === 'bench') {
  const n = input.iterations || 20000
  for (let i = 0; i < Math.min(n, 2000); i++) decide(sims[i % sims.length])
  const times = new Float64Array(n)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint()
    decide(sims[i % sims.length])
    times[i] = Number(process.hrtime.bigint() - s) / 1000
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9
  times.sort()
  process.stdout.write(JSON.stringify({
    decisions_per_s: n / total, median_us: times[Math.floor(n / 2)], p99_us: times[Math.floor(n * 0.99)],
    decisions: sims.map(decide),
  }))
} else {
  process.stdout.write(JSON.stringify(sims.map(decide)))
}
