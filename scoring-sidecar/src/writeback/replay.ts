// Dead-letter replay: every dead letter back on the queue (under a new job id), the list emptied; on a queueing
// failure the letters go back to the list, so a replay loses nothing.
import type { DeadLetterStore } from './dead-letters.js';
import type { WritebackQueue } from './queue.js';

export async function replayDeadLetters(
  deadLetters: DeadLetterStore,
  queue: WritebackQueue,
  now = new Date(),
): Promise<number> {
  const letters = await deadLetters.takeAll();
  if (letters.length === 0) return 0;
  try {
    await queue.add(
      letters.map((l) => l.job),
      { replayOf: String(now.getTime()) },
    );
  } catch (error) {
    await deadLetters.putBack(letters);
    throw error;
  }
  return letters.length;
}
