/**
 * A counting semaphore: at most `size` tasks run at once, the rest wait in order. An urgent task waits
 * ahead of every ordinary one (gen: the CA's steps, which every signature waits for).
 */
export function limiter(size: number): <T>(task: () => Promise<T>, urgent?: boolean) => Promise<T> {
  let active = 0;
  const urgentWaiting: (() => void)[] = [];
  const waiting: (() => void)[] = [];
  const next = () => {
    if (active >= size) return;
    const start = urgentWaiting.shift() ?? waiting.shift();
    if (start) {
      active++;
      start();
    }
  };
  return (task, urgent = false) =>
    new Promise((resolve, reject) => {
      (urgent ? urgentWaiting : waiting).push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            next();
          });
      });
      next();
    });
}
