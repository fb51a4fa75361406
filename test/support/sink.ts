// A stand-in for stdout or stderr that keeps what is written, as a terminal (isTTY) or not.

export function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (s: string) => chunks.push(s) } };
}
