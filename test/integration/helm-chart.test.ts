// The Helm chart (deploy/helm/ratchet), rendered by Helm and checked offline: `helm lint`, then every object
// through the chart validator (deploy/helm/validate: strict decoding into the Kubernetes API types, KEDA's CRD
// schemas, the temporal scaler's own field names), then what the chart must get right for Ratchet: probes on the
// API's real paths, one ScaledObject per task queue the code uses, GPUs on the `gpu` workers only, secrets
// referenced and never inlined, and a shutdown grace long enough for a training's last checkpoint. Rendered twice:
// with the defaults and with ci/tls-gpu-values.yaml (mTLS to Temporal, credentials Secrets, GPU nodes).
//
// The first run builds Helm from the Go module proxy (about 2 minutes on a quiet machine; CI's provisioning
// step does it first) and the validator (seconds, from Go's module cache); later runs find both in the cache.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultApiOptions } from '../../api/app.ts';
import { healthEndpoints } from '../../api/routes/health.ts';
import { configVariableNames, taskQueueNames } from '../../infra/config.ts';
import {
  chartDir,
  chartTools,
  renderChart,
  runHelm,
  validate,
  type ChartTools,
  type K8sObject,
} from '../helpers/helm-chart.ts';

type Container = {
  name: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  resources: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  volumeMounts: { name: string; mountPath: string }[];
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string } };
};
type PodSpec = {
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string } }[];
  terminationGracePeriodSeconds: number;
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
};
type Deployment = K8sObject & { spec: { template: { spec: PodSpec } } };
type Trigger = { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } };
type ScaledObject = K8sObject & { spec: { scaleTargetRef: { name: string }; triggers: Trigger[] } };

const tlsGpuValues = path.join(chartDir, 'ci', 'tls-gpu-values.yaml');
const secretVariables = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'RATCHET_BOOTSTRAP_ADMIN_KEY'];

let tools: ChartTools;
const rendered: Record<'defaults' | 'tlsGpu', { manifests: string; objects: K8sObject[] }> = {} as never;

beforeAll(async () => {
  tools = await chartTools((line) => console.log(`[helm-chart] ${line}`));
  for (const [name, files] of [
    ['defaults', []],
    ['tlsGpu', [tlsGpuValues]],
  ] as const) {
    const manifests = await renderChart(tools, [...files]);
    rendered[name] = { manifests, objects: validate(tools, manifests).objects };
  }
}, 900_000);

const ofKind = <T extends K8sObject>(objects: K8sObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as T[];
const deployments = (objects: K8sObject[]) => ofKind<Deployment>(objects, 'Deployment');
const container = (d: Deployment) => d.spec.template.spec.containers[0];
const env = (c: Container, name: string) => c.env.find((e) => e.name === name);
const byQueue = (objects: K8sObject[], queue: string) =>
  deployments(objects).find((d) => env(container(d), 'RATCHET_TASK_QUEUES')?.value === queue)!;
const api = (objects: K8sObject[]) => deployments(objects).find((d) => container(d).args[0] === 'api')!;

describe.each(['defaults', 'tlsGpu'] as const)('the chart rendered with %s', (name) => {
  const objects = () => rendered[name].objects;

  it('passes helm lint --strict', async () => {
    const files = name === 'tlsGpu' ? ['--values', tlsGpuValues] : [];
    expect(await runHelm(tools, ['lint', '--strict', chartDir, ...files])).toMatch(
      /1 chart\(s\) linted, 0 chart\(s\) failed/,
    );
  });

  it('holds only objects the Kubernetes API types and KEDA CRDs accept', () => {
    const result = validate(tools, rendered[name].manifests);
    expect(result.report).toMatch(/^valid: \d+ objects/);
    expect(result.status).toBe(0);
    expect(result.objects.length).toBeGreaterThanOrEqual(8);
  });

  it("probes the API's liveness and readiness paths on its port, and runs commands the CLI has", () => {
    const [healthz, readyz] = healthEndpoints.map((endpoint) => endpoint.path);
    const c = container(api(objects()));
    expect(c.livenessProbe!.httpGet.path).toBe(healthz);
    expect(c.startupProbe!.httpGet.path).toBe(healthz);
    expect(c.readinessProbe!.httpGet.path).toBe(readyz);
    const port = c.ports!.find((p) => p.name === c.readinessProbe!.httpGet.port)!;
    expect(String(port.containerPort)).toBe(env(c, 'RATCHET_API_PORT')!.value);
    expect(env(c, 'RATCHET_API_HOST')!.value).toBe('0.0.0.0');
    const help = execFileSync(process.execPath, ['bin/ratchet.mjs', '--help'], { encoding: 'utf8' });
    for (const d of deployments(objects())) expect(help).toMatch(new RegExp(`^  ${container(d).args[0]} `, 'm'));
  });

  it('sets only variables the stack reads, and Node its flags', () => {
    for (const d of deployments(objects())) {
      for (const { name: variable } of container(d).env) {
        expect([...configVariableNames, 'NODE_OPTIONS']).toContain(variable);
      }
    }
  });

  it('scales one worker Deployment per task queue with a temporal trigger on that queue', () => {
    const scaled = ofKind<ScaledObject>(objects(), 'ScaledObject');
    const queues = scaled.map((s) => s.spec.triggers[0].metadata.taskQueue).sort();
    expect(queues).toEqual([...taskQueueNames].sort());
    const { jobs, training } = defaultApiOptions.taskQueues;
    expect(queues).toEqual(expect.arrayContaining([jobs, training]));
    for (const s of scaled) {
      expect(s.spec.triggers).toHaveLength(1);
      const [trigger] = s.spec.triggers;
      expect(trigger.type).toBe('temporal');
      const target = deployments(objects()).find((d) => d.metadata.name === s.spec.scaleTargetRef.name)!;
      const c = container(target);
      expect(c.args).toEqual(['worker']);
      expect(env(c, 'RATCHET_TASK_QUEUES')!.value).toBe(trigger.metadata.taskQueue);
      expect(trigger.metadata.endpoint).toBe(env(c, 'TEMPORAL_ADDRESS')!.value);
      expect(trigger.metadata.namespace).toBe(env(c, 'TEMPORAL_NAMESPACE')!.value);
    }
    // The training queue stays up while jobs' workflows run, so a training is not scaled away mid-run.
    const gpu = scaled.find((s) => s.spec.triggers[0].metadata.taskQueue === training)!;
    expect(gpu.spec.triggers[0].metadata).toMatchObject({
      includeRunningWorkflowCount: 'true',
      workflowTaskQueueForCount: jobs,
    });
  });

  it('references every secret and inlines none', () => {
    expect(ofKind(objects(), 'Secret')).toEqual([]);
    expect(rendered[name].manifests).not.toContain('BEGIN');
    for (const d of deployments(objects())) {
      for (const e of container(d).env.filter((e) => secretVariables.includes(e.name))) {
        expect(e.value, `${d.metadata.name} ${e.name}`).toBeUndefined();
        expect(e.valueFrom?.secretKeyRef?.name).toBeTruthy();
      }
    }
  });

  it("gives the training worker a grace period for a last checkpoint, beyond the others'", () => {
    const grace = (d: Deployment) => d.spec.template.spec.terminationGracePeriodSeconds;
    const training = byQueue(objects(), defaultApiOptions.taskQueues.training);
    expect(grace(training)).toBeGreaterThanOrEqual(120);
    const others = deployments(objects()).filter((d) => d !== training);
    for (const d of others) expect(grace(d), d.metadata.name).toBeLessThan(grace(training));
  });
});

describe('the chart with TLS and GPUs', () => {
  const objects = () => rendered.tlsGpu.objects;

  it('asks for a GPU, the GPU nodes and their taint on the training workers only', () => {
    const { training } = defaultApiOptions.taskQueues;
    for (const d of deployments(objects())) {
      const limits = container(d).resources.limits ?? {};
      const isTraining = env(container(d), 'RATCHET_TASK_QUEUES')?.value === training;
      expect(limits['nvidia.com/gpu'], d.metadata.name).toBe(isTraining ? 1 : undefined);
      if (isTraining) {
        expect(d.spec.template.spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
        expect(d.spec.template.spec.tolerations).toEqual([
          { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
        ]);
      }
    }
    for (const d of deployments(rendered.defaults.objects))
      expect(container(d).resources.limits?.['nvidia.com/gpu']).toBeUndefined();
  });

  it('mounts the TLS Secret where TEMPORAL_TLS_* point, and gives KEDA the same Secret', () => {
    for (const d of deployments(objects())) {
      const pod = d.spec.template.spec;
      const volume = pod.volumes.find((v) => v.secret?.secretName === 'ratchet-temporal-tls')!;
      const mount = container(d).volumeMounts.find((m) => m.name === volume.name)!;
      for (const variable of [
        'TEMPORAL_TLS_CLIENT_CERT_PATH',
        'TEMPORAL_TLS_CLIENT_KEY_PATH',
        'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      ]) {
        expect(path.dirname(env(container(d), variable)!.value!)).toBe(mount.mountPath);
      }
      expect(env(container(d), 'TEMPORAL_TLS_SERVER_NAME')!.value).toBe('temporal.example.internal');
    }
    const [auth] = ofKind<K8sObject & { spec: { secretTargetRef: { parameter: string; name: string }[] } }>(
      objects(),
      'TriggerAuthentication',
    );
    expect(auth.spec.secretTargetRef.map((r) => [r.parameter, r.name])).toEqual([
      ['cert', 'ratchet-temporal-tls'],
      ['key', 'ratchet-temporal-tls'],
      ['ca', 'ratchet-temporal-tls'],
    ]);
    for (const s of ofKind<ScaledObject>(objects(), 'ScaledObject')) {
      expect(s.spec.triggers[0].authenticationRef).toEqual({ name: auth.metadata.name });
      expect(s.spec.triggers[0].metadata.tlsServerName).toBe('temporal.example.internal');
    }
  });
});

describe('the values schema', () => {
  it('refuses a misspelt setting and a malformed address instead of ignoring them', async () => {
    await expect(runHelm(tools, ['lint', chartDir, '--set', 'workers.gpu.gpu=1'])).rejects.toThrowError(
      /at '\/workers\/gpu': additional properties 'gpu' not allowed/,
    );
    await expect(renderChart(tools, [], ['--set', 'temporal.address=http://temporal:7233'])).rejects.toThrowError(
      /at '\/temporal\/address': 'http:\/\/temporal:7233' does not match pattern/,
    );
  });
});

describe('the chart validator', () => {
  // Each edit breaks the rendered manifests in one way the API server or KEDA would refuse.
  it.each([
    [
      'an unknown field of a Deployment',
      [/terminationGracePeriodSeconds:/, 'terminationGracePeriod:'],
      /json: unknown field "terminationGracePeriod"/,
    ],
    [
      'a wrong type in a Deployment',
      [/containerPort: 8080/, 'containerPort: "8080"'],
      /cannot unmarshal string into .*containerPort of type int32/,
    ],
    ['a malformed quantity', [/memory: 512Mi/, 'memory: 512MB-ish'], /quantities must match/],
    ['an unknown field of a ScaledObject', [/minReplicaCount:/, 'minReplicas:'], /spec.minReplicas: unknown field/],
    [
      'a wrong type in a ScaledObject',
      [/pollingInterval: 15/, 'pollingInterval: "15"'],
      /spec.pollingInterval: expected a number, got string/,
    ],
    [
      'a metadata key the temporal scaler does not read',
      [/taskQueue:/, 'taskqueue:'],
      /metadata key "taskqueue" is not one the temporal scaler reads/,
    ],
    [
      'a ScaledObject scaling a missing Deployment',
      [/scaleTargetRef:\n {4}name: ratchet-worker-gpu/, 'scaleTargetRef:\n    name: ratchet-worker-tpu'],
      /scaleTargetRef names Deployment "ratchet-worker-tpu", which is not in the input/,
    ],
    [
      'an auth parameter the temporal scaler does not read',
      [/parameter: cert\b/, 'parameter: certificate'],
      /parameter "certificate" is not one the temporal scaler reads/,
    ],
  ] as const)('rejects %s', (_, [pattern, replacement], message) => {
    const manifests = rendered.tlsGpu.manifests;
    expect(manifests).toMatch(pattern);
    const result = validate(tools, manifests.replace(pattern, replacement));
    expect(result.status).toBe(1);
    expect(result.report).toMatch(message);
  });
});
