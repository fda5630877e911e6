/** "1 certificate", "2 certificates", "0 certificates": the noun singular only for one. */
export const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
