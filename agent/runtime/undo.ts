/*
 * Building something out of several kernel objects means being able to take it apart when a
 * later step fails: each step that makes something pushes how to unmake it, and a failure
 * unwinds them newest first. The first error is the one the user sees; later ones are swallowed
 * so one failed cleanup never stops the rest.
 */
export class UndoStack {
  private readonly steps: (() => void)[] = [];

  push(step: () => void): void {
    this.steps.push(step);
  }

  unwind(): void {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        step();
      } catch {
        // keep undoing
      }
    }
  }
}
