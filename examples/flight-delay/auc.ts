/**
 * ROC AUC as the Mann–Whitney statistic: the chance that a random positive scores
 * above a random negative, ties counting one half. Sorting once makes it O(n log n).
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1; // tied scores share their average rank
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += midRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new Error(`AUC needs both classes; got ${positives} positives and ${negatives} negatives`);
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
