/**
 * Collects the stop steps of everything a process starts, and runs them in reverse
 * order: on shutdown, and on a failed start-up so nothing is left running.
 */
export class Lifecycle {
  private readonly stops: { name: string; stop: () => Promise<void> }[] = [];

  /** Registers `stop` to run when the process stops; last registered runs first. */
  onStop(name: string, stop: () => Promise<void>): void {
    this.stops.push({ name, stop });
  }

  /** Runs every stop step once, newest first; a failing step does not skip the others. */
  async stopAll(onError: (name: string, error: unknown) => void): Promise<void> {
    while (this.stops.length > 0) {
      const step = this.stops.pop()!;
      try {
        await step.stop();
      } catch (error) {
        onError(step.name, error);
      }
    }
  }
}
