namespace KeyspacePubSub.Engine.Geo;

/// <summary>
/// Redis's pqsort (Bentley and McIlroy's quicksort, from NetBSD, recursing only into partitions that overlap
/// the wanted positions). A geo search with COUNT below its number of results sorts that way, and the sort is
/// not stable: points at equal distance come out in the order this exact algorithm leaves them, which is why
/// it is ported rather than replaced by another sort.
/// </summary>
internal static class PartialSort
{
    /// <summary>Sorts enough of <paramref name="a"/> that positions <paramref name="first"/>..<paramref name="last"/> hold what a full sort would put there.</summary>
    public static void Sort<T>(T[] a, Comparison<T> cmp, int first, int last) => Run(a, 0, a.Length, cmp, first, last);

    private static int Med3<T>(T[] a, int x, int y, int z, Comparison<T> cmp) =>
        cmp(a[x], a[y]) < 0
            ? (cmp(a[y], a[z]) < 0 ? y : (cmp(a[x], a[z]) < 0 ? z : x))
            : (cmp(a[y], a[z]) > 0 ? y : (cmp(a[x], a[z]) < 0 ? x : z));

    private static void Swap<T>(T[] a, int i, int j) => (a[i], a[j]) = (a[j], a[i]);

    private static void VecSwap<T>(T[] a, int i, int j, int n)
    {
        for (int k = 0; k < n; k++) Swap(a, i + k, j + k);
    }

    /// <summary>_pqsort over a[start .. start+n), with lrange/rrange the wanted positions (inclusive).</summary>
    private static void Run<T>(T[] a, int start, int n, Comparison<T> cmp, int lrange, int rrange)
    {
        while (true)
        {
            if (n < 7)
            {
                for (int pm = start + 1; pm < start + n; pm++)
                {
                    for (int pl = pm; pl > start && cmp(a[pl - 1], a[pl]) > 0; pl--) Swap(a, pl, pl - 1);
                }
                return;
            }
            int mid = start + n / 2;
            if (n > 7)
            {
                int lo = start, hi = start + n - 1;
                if (n > 40)
                {
                    int d = n / 8;
                    lo = Med3(a, lo, lo + d, lo + 2 * d, cmp);
                    mid = Med3(a, mid - d, mid, mid + d, cmp);
                    hi = Med3(a, hi - 2 * d, hi - d, hi, cmp);
                }
                mid = Med3(a, lo, mid, hi, cmp);
            }
            Swap(a, start, mid);
            int pa = start + 1, pb = pa, pc = start + n - 1, pd = pc;
            while (true)
            {
                int c;
                while (pb <= pc && (c = cmp(a[pb], a[start])) <= 0)
                {
                    if (c == 0) Swap(a, pa++, pb);
                    pb++;
                }
                while (pb <= pc && (c = cmp(a[pc], a[start])) >= 0)
                {
                    if (c == 0) Swap(a, pc, pd--);
                    pc--;
                }
                if (pb > pc) break;
                Swap(a, pb++, pc--);
            }
            int pn = start + n;
            int r = Math.Min(pa - start, pb - pa);
            VecSwap(a, start, pb - r, r);
            r = Math.Min(pd - pc, pn - pd - 1);
            VecSwap(a, pb, pn - r, r);
            if ((r = pb - pa) > 1 && Overlaps(start, start + r - 1, lrange, rrange)) Run(a, start, r, cmp, lrange, rrange);
            if ((r = pd - pc) > 1)
            {
                start = pn - r;
                n = r;
                if (Overlaps(start, start + r - 1, lrange, rrange)) continue;
            }
            return;
        }
    }

    /// <summary>The C test <c>!((lrange &lt; l &amp;&amp; rrange &lt; l) || (lrange &gt; r &amp;&amp; rrange &gt; r))</c>.</summary>
    private static bool Overlaps(int l, int r, int lrange, int rrange) => !((lrange < l && rrange < l) || (lrange > r && rrange > r));
}
