import { execa } from 'execa';
import type { ControlPlane } from './control-plane.js';

/** One probe request: when, whether it succeeded, and how many apiservers haproxy had in service. */
export interface ProbeSample {
  at: number;
  ok: boolean;
  detail: string;
  upServers: number;
}

/**
 * `kubectl get --raw /readyz` through the load balancer, again and again (several a second) until
 * stopped, with haproxy's count of healthy apiservers beside each answer.
 */
export class ReadyzProbe {
  readonly samples: ProbeSample[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(kubeconfig: string, cp: ControlPlane, intervalMs = 150) {
    this.loop = (async () => {
      while (this.running) {
        const r = await execa('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz', '--request-timeout=5s'], { reject: false, stdin: 'ignore', all: true });
        const up = [...(await cp.lbState().catch(() => new Map<string, string>())).values()].filter((s) => s === 'UP').length;
        this.samples.push({ at: Date.now(), ok: r.exitCode === 0 && r.stdout.trim() === 'ok', detail: failedChecks(r.all ?? ''), upServers: up });
        await new Promise((res) => setTimeout(res, intervalMs));
      }
    })();
  }

  async stop(): Promise<ProbeSample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }

  /** Failed requests while haproxy still had a healthy apiserver: each one an outage the rotation caused. */
  failuresWithServers(): ProbeSample[] {
    return this.samples.filter((s) => !s.ok && s.upServers > 0);
  }
}

/** The failing checks of a /readyz answer ("[-]shutdown failed: …"), or the first line of any other error. */
function failedChecks(output: string): string {
  const failed = output.split(/\\n|\n/).filter((l) => l.startsWith('[-]'));
  return failed.length ? failed.join('; ') : output.split('\n')[0]!.slice(0, 200);
}
