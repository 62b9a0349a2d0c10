using System.Text;
using KeyspacePubSub.Protocol;
using static KeyspacePubSub.Engine.Commands.CommandFlags;

namespace KeyspacePubSub.Engine.Commands;

/// <summary>
/// LOLWUT [VERSION v] [...] (src/lolwut.c, lolwut5.c, lolwut6.c of Redis 7.0): this version's line, or with
/// VERSION 5 Georg Nees's "Schotter" drawn in braille, with VERSION 6 an 8-bit city skyline in terminal colours.
/// The drawing is Redis's, float for float; the random parts come from this server's generator, so only
/// drawings that use none (Schotter's first two rows, a skyline one row high) are the same bytes as Redis's.
/// </summary>
internal static class LolwutCommand
{
    public static void Register(CommandTable t) =>
        t.Add(new() { Name = "lolwut", Arity = -1, Flags = ReadOnly | Fast, Handler = Run, Group = "server", Since = "5.0.0", Summary = "Displays computer art and the Redis version" });

    private static void Run(CommandContext x)
    {
        string version = Engine.RedisVersion;
        int first = 1; // the version's own arguments start here
        if (x.Args.Count >= 3 && x.Args.Is(1, "VERSION"))
        {
            if (!x.Args.TryGetInt64(2, out long v))
            {
                x.Reply.Error(Errors.NotInteger);
                return;
            }
            version = $"{(uint)v}.0.0"; // snprintf("%u.0.0", (unsigned int)ver)
            first = 3;
        }
        bool five = (version[0] == '5' && version[1] == '.' && version[2] != '9') || (version[0] == '4' && version[1] == '.' && version[2] == '9');
        bool six = (version[0] == '6' && version[1] == '.' && version[2] != '9') || (version[0] == '5' && version[1] == '.' && version[2] == '9');
        string? art = five ? Schotter(x, first) : six ? Skyline(x, first) : "";
        if (art is null) return; // an argument was not a number
        x.Reply.Verbatim(art + (five || six ? "" : "Redis ver. ") + Engine.RedisVersion + "\n");
    }

    /// <summary>The version's arguments in order, each a number or the default; null after an error reply.</summary>
    private static long[]? Numbers(CommandContext x, int first, params long[] defaults)
    {
        for (int i = 0; i < defaults.Length && first + i < x.Args.Count; i++)
        {
            if (!x.Args.TryGetInt64(first + i, out defaults[i]))
            {
                x.Reply.Error(Errors.NotInteger);
                return null;
            }
        }
        return defaults;
    }

    /// <summary>lolwut5Command: columns (66), squares per row (8) and per column (12), within Redis's limits.</summary>
    private static string? Schotter(CommandContext x, int first)
    {
        if (Numbers(x, first, 66, 8, 12) is not { } n) return null;
        int cols = (int)Math.Clamp(n[0], 1, 1000), perRow = (int)Math.Clamp(n[1], 1, 200), perCol = (int)Math.Clamp(n[2], 1, 200);
        var canvas = DrawSchotter(cols, perRow, perCol);
        return RenderBraille(canvas) + "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ";
    }

    /// <summary>lolwut6Command: columns (80) and rows (20), within Redis's limits.</summary>
    private static string? Skyline(CommandContext x, int first)
    {
        if (Numbers(x, first, 80, 20) is not { } n) return null;
        var canvas = new Canvas((int)Math.Clamp(n[0], 1, 1000), (int)Math.Clamp(n[1], 1, 1000), 3);
        DrawSkyline(canvas);
        return RenderColours(canvas) + "\nDedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. ";
    }

    /// <summary>lwCanvas: one byte per pixel, drawing outside it ignored, reading outside it 0.</summary>
    private sealed class Canvas(int width, int height, byte background)
    {
        private readonly byte[] _pixels = Enumerable.Repeat(background, width * height).ToArray();
        public int Width { get; } = width;
        public int Height { get; } = height;

        public void Draw(int x, int y, int color)
        {
            if (x >= 0 && x < Width && y >= 0 && y < Height) _pixels[x + y * Width] = (byte)color;
        }

        public int Get(int x, int y) => x < 0 || x >= Width || y < 0 || y >= Height ? 0 : _pixels[x + y * Width];
    }

    /// <summary>rand() in [0, RAND_MAX]: this server's generator, not glibc's.</summary>
    private static int Rand() => Random.Shared.Next(int.MaxValue);

    /// <summary>lwDrawSchotter, in single precision where Redis's C uses float.</summary>
    private static Canvas DrawSchotter(int consoleCols, int perRow, int perCol)
    {
        int width = consoleCols * 2;
        int padding = width > 4 ? 2 : 0;
        float side = (float)(width - padding * 2) / perRow;
        int height = (int)(side * perCol + padding * 2);
        var canvas = new Canvas(width, height, 0);
        for (int y = 0; y < perCol; y++)
        {
            for (int x = 0; x < perRow; x++)
            {
                int sx = (int)(x * side + side / 2 + padding);
                int sy = (int)(y * side + side / 2 + padding);
                float angle = 0;
                if (y > 1)
                {
                    // Rotated and moved more, at random, further down.
                    float r1 = (float)Rand() / int.MaxValue / perCol * y;
                    float r2 = (float)Rand() / int.MaxValue / perCol * y;
                    float r3 = (float)Rand() / int.MaxValue / perCol * y;
                    if (Rand() % 2 != 0) r1 = -r1;
                    if (Rand() % 2 != 0) r2 = -r2;
                    if (Rand() % 2 != 0) r3 = -r3;
                    angle = r1;
                    sx = (int)(sx + r2 * side / 3);
                    sy = (int)(sy + r3 * side / 3);
                }
                DrawSquare(canvas, sx, sy, side, angle);
            }
        }
        return canvas;
    }

    /// <summary>lwDrawSquare: the corners on the circle through them, from 45° plus the angle, joined by lines.</summary>
    private static void DrawSquare(Canvas canvas, int x, int y, float size, float angle)
    {
        Span<int> px = stackalloc int[4], py = stackalloc int[4];
        size = (float)(size / 1.4142135623);
        size = (float)Math.Round(size, MidpointRounding.AwayFromZero);
        float k = (float)(Math.PI / 4 + angle);
        for (int j = 0; j < 4; j++)
        {
            px[j] = (int)Math.Round(Math.Sin(k) * size + x, MidpointRounding.AwayFromZero);
            py[j] = (int)Math.Round(Math.Cos(k) * size + y, MidpointRounding.AwayFromZero);
            k = (float)(k + Math.PI / 2);
        }
        for (int j = 0; j < 4; j++) DrawLine(canvas, px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], 1);
    }

    /// <summary>lwDrawLine: Bresenham.</summary>
    private static void DrawLine(Canvas canvas, int x1, int y1, int x2, int y2, int color)
    {
        int dx = Math.Abs(x2 - x1), dy = Math.Abs(y2 - y1);
        int sx = x1 < x2 ? 1 : -1, sy = y1 < y2 ? 1 : -1;
        int err = dx - dy;
        while (true)
        {
            canvas.Draw(x1, y1, color);
            if (x1 == x2 && y1 == y2) break;
            int e2 = err * 2;
            if (e2 > -dy)
            {
                err -= dy;
                x1 += sx;
            }
            if (e2 < dx)
            {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// <summary>lolwut5's renderCanvas: each 2×4 block of pixels one braille character (U+2800 plus its dots).</summary>
    private static string RenderBraille(Canvas c)
    {
        var text = new StringBuilder();
        for (int y = 0; y < c.Height; y += 4)
        {
            for (int x = 0; x < c.Width; x += 2)
            {
                int dots = c.Get(x, y) | c.Get(x, y + 1) << 1 | c.Get(x, y + 2) << 2 | c.Get(x + 1, y) << 3
                    | c.Get(x + 1, y + 1) << 4 | c.Get(x + 1, y + 2) << 5 | c.Get(x, y + 3) << 6 | c.Get(x + 1, y + 3) << 7;
                text.Append((char)(0x2800 + dots));
            }
            if (y != c.Height - 1) text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>lolwut6's renderCanvas: each pixel a space in one of the terminal's four greys.</summary>
    private static string RenderColours(Canvas c)
    {
        var text = new StringBuilder();
        for (int y = 0; y < c.Height; y++)
        {
            for (int x = 0; x < c.Width; x++)
            {
                string escape = c.Get(x, y) switch { 1 => "0;90;100m", 2 => "0;37;47m", 3 => "0;97;107m", _ => "0;30;40m" };
                text.Append('\x1b').Append('[').Append(escape).Append(" \x1b[0m");
            }
            if (y != c.Height - 1) text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>generateSkyline: two rows of plain grey buildings behind, then black ones with lit windows.</summary>
    private static void DrawSkyline(Canvas canvas)
    {
        for (int color = 2; color >= 1; color--)
        {
            for (int offset = -10; offset < canvas.Width;)
            {
                offset += Rand() % 8;
                int width = 10 + Rand() % 9;
                int height = color == 2 ? canvas.Height / 2 + Rand() % canvas.Height / 2 : canvas.Height / 2 + Rand() % canvas.Height / 3;
                DrawSkyscraper(canvas, offset, width, height, windows: false, color);
                offset += color == 2 ? width / 2 : width + 1;
            }
        }
        for (int offset = -10; offset < canvas.Width;)
        {
            offset += Rand() % 8;
            int width = 5 + Rand() % 14;
            if (width % 4 != 0) width += width % 3;
            int height = canvas.Height / 3 + Rand() % canvas.Height / 2;
            DrawSkyscraper(canvas, offset, width, height, windows: true, 0);
            offset += width + 5;
        }
    }

    /// <summary>generateSkyscraper: a roof four pixels narrower, windows two pixels wide on every other row.</summary>
    private static void DrawSkyscraper(Canvas canvas, int xoff, int width, int height, bool windows, int buildingColor)
    {
        int starty = canvas.Height - 1, endy = starty - height + 1;
        for (int y = starty; y >= endy; y--)
        {
            for (int x = xoff; x < xoff + width; x++)
            {
                if (y == endy && (x <= xoff + 1 || x >= xoff + width - 2)) continue;
                int color = buildingColor;
                if (windows && x > xoff + 1 && x < xoff + width - 2 && y > endy + 1 && y < starty - 1)
                {
                    int relx = x - (xoff + 1), rely = y - (endy + 1);
                    if ((relx / 2 % 2) != 0 && (rely % 2) != 0)
                    {
                        do color = 1 + Rand() % 2;
                        while (color == buildingColor);
                        if (relx % 2 != 0) color = canvas.Get(x - 1, y);
                    }
                }
                canvas.Draw(x, y, color);
            }
        }
    }
}
