// A three-way merge of whole texts by lines, for the editor's "merge my changes": each side's
// change against the base as one block of lines (what an edit between two saves is); blocks
// that do not overlap both apply, overlapping ones are a conflict (null).
function block(base, side) {
  let start = 0;
  while (start < base.length && start < side.length && base[start] === side[start]) start++;
  let end = 0;
  while (end < base.length - start && end < side.length - start &&
         base[base.length - 1 - end] === side[side.length - 1 - end]) end++;
  return { from: start, to: base.length - end, lines: side.slice(start, side.length - end) };
}

export function threeWayMerge(baseText, mineText, theirsText) {
  if (mineText === baseText) return theirsText;
  if (theirsText === baseText || theirsText === mineText) return mineText;
  const base = baseText.split("\n");
  const mine = block(base, mineText.split("\n"));
  const theirs = block(base, theirsText.split("\n"));
  if (mine.from < theirs.to && theirs.from < mine.to) return null;
  if (mine.from === theirs.from && mine.to === theirs.to) return null;   // both inserted at one place
  const [first, second] = mine.from <= theirs.from ? [mine, theirs] : [theirs, mine];
  if (first.to > second.from) return null;
  return [...base.slice(0, first.from), ...first.lines, ...base.slice(first.to, second.from),
          ...second.lines, ...base.slice(second.to)].join("\n");
}
