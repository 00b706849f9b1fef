import { Inject, Injectable } from '@nestjs/common';
import { AuditLogService } from '#libs/audit';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { SecretService } from '#libs/secrets';
import { isDeniedEnvironmentName, type StoredTask } from '#libs/tasks';
import { TaskFailure } from '../task-handler.js';
import { WorkerIdentity } from '../worker-identity.js';

/**
 * Opens the secrets a task asked for, just before it starts. The task in Redis holds their
 * names only; the values are read from the org database here, live only in the child's
 * environment and the attempt's output masker, and are dropped when the attempt ends.
 */
@Injectable()
export class TaskSecrets {
  constructor(
    private readonly secrets: SecretService,
    private readonly audit: AuditLogService,
    private readonly worker: WorkerIdentity,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /** The task's secrets by name; fails the attempt when one is refused or no longer exists. */
  async reveal(task: StoredTask): Promise<Map<string, string>> {
    const names = task.secrets ?? [];
    if (names.length === 0) return new Map();
    const refused = names.filter(isDeniedEnvironmentName);
    if (refused.length) throw new TaskFailure(`secrets ${refused.join(', ')} may not be set as environment variables`);
    const values = await this.secrets.reveal(task.orgId, names);
    const missing = names.filter((name) => !values.has(name));
    if (missing.length) throw new TaskFailure(`the org has no secret ${missing.join(', ')} (any more)`);
    // Every use of a secret passes here, once per attempt: the one place that records it (names, never values).
    this.logger.info({ orgId: task.orgId, taskId: task.id, attempt: task.attempt, secrets: names }, 'secrets given to a task');
    // One audit row per secret and attempt, before the task can see it: names only, the task as request.
    for (const name of names) {
      await this.audit.record(task.orgId, {
        actor: { kind: 'platform', id: this.worker.id, name: 'worker', role: null },
        action: 'secret.use',
        target: { type: 'secret', id: name },
        requestId: `task:${task.id}:${task.attempt}`,
        sourceIp: null,
        outcome: 'success',
      });
    }
    return values;
  }
}
