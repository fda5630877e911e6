export async function reportCommand(..._a: unknown[]): Promise<number> { return 0; }
