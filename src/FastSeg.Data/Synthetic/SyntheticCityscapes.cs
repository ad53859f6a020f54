namespace FastSeg.Data;

/// <summary>Settings of <see cref="SyntheticCityscapes.Generate"/>.</summary>
public sealed record SyntheticCityscapesOptions
{
    /// <summary>Image width (Cityscapes: 2048).</summary>
    public int Width { get; init; } = 512;

    /// <summary>Image height (Cityscapes: 1024).</summary>
    public int Height { get; init; } = 256;

    /// <summary>Images in the train split.</summary>
    public int TrainCount { get; init; } = 4;

    /// <summary>Images in the val split.</summary>
    public int ValCount { get; init; } = 2;

    /// <summary>Images in the test split (written without labels).</summary>
    public int TestCount { get; init; }

    /// <summary>Fixes every scene.</summary>
    public long Seed { get; init; }

    /// <summary>PNG compression level 0–9 (-1: OpenCV's default).</summary>
    public int PngCompression { get; init; } = -1;

    /// <summary>Also write <c>*_gtFine_color.png</c> (the palette rendering), as the real dataset has.</summary>
    public bool WriteColor { get; init; }
}

/// <summary>
/// Writes a small synthetic dataset in the real Cityscapes layout (<c>leftImg8bit/{split}/{city}/..._leftImg8bit.png</c>
/// and <c>gtFine/{split}/{city}/..._gtFine_labelIds.png</c>) with street-like scenes: sky, buildings with windows,
/// trees, sidewalks, a road with lane marks, poles with signs, cars, persons and often the ego vehicle's hood, drawn
/// as textured, noisy shapes and labelled with the real Cityscapes label ids (so the 19-class mapping, the ignore
/// label and every loader path run as on the real data). The same seed writes the same files.
/// </summary>
public static class SyntheticCityscapes
{
    private static readonly string[] TrainCities = { "aachen", "bochum", "bremen" };
    private static readonly string[] ValCities = { "frankfurt", "lindau", "munster" };
    private static readonly string[] TestCities = { "berlin", "bielefeld" };

    /// <summary>Writes the dataset under <paramref name="root"/> and returns the files written, split by split.</summary>
    public static IReadOnlyList<SampleFiles> Generate(string root, SyntheticCityscapesOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        var o = options ?? new SyntheticCityscapesOptions();
        if (o.Width < 32 || o.Height < 16) throw new ArgumentOutOfRangeException(nameof(options), "scenes need at least 32 x 16 pixels");
        var written = new List<SampleFiles>();
        foreach (var (split, salt, count, cities) in new[] { ("train", 1, o.TrainCount, TrainCities), ("val", 2, o.ValCount, ValCities), ("test", 3, o.TestCount, TestCities) })
        {
            for (int k = 0; k < count; k++)
            {
                string city = cities[k % cities.Length];
                string stem = $"{city}_{k / cities.Length:D6}_{19 + k:D6}";
                string imageDir = Path.Combine(root, "leftImg8bit", split, city);
                string labelDir = Path.Combine(root, "gtFine", split, city);
                Directory.CreateDirectory(imageDir);
                long seed = DataRandom.Derive(o.Seed, salt, k);
                var (image, labels) = RenderScene(o.Width, o.Height, seed);
                using (image)
                using (labels)
                {
                    string imagePath = Path.Combine(imageDir, stem + "_leftImg8bit.png");
                    image.Save(imagePath, o.PngCompression);
                    string? labelPath = null;
                    if (split != "test")
                    {
                        Directory.CreateDirectory(labelDir);
                        labelPath = Path.Combine(labelDir, stem + "_gtFine_labelIds.png");
                        labels.Save(labelPath, o.PngCompression);
                        if (o.WriteColor)
                        {
                            using var colour = ColorizeLabelIds(labels);
                            colour.Save(Path.Combine(labelDir, stem + "_gtFine_color.png"), o.PngCompression);
                        }
                    }
                    written.Add(new SampleFiles(stem, imagePath, labelPath));
                }
            }
        }
        return written;
    }

    /// <summary>Colours a labelIds mask with the Cityscapes label colours.</summary>
    public static Image ColorizeLabelIds(Image labelIds)
    {
        var colour = new Image(labelIds.Width, labelIds.Height, 3);
        var src = labelIds.Pixels;
        var dst = colour.Pixels;
        var table = new Rgb[256];
        foreach (var l in CityscapesLabel.All) table[l.Id < 0 ? 255 : l.Id] = l.Color;
        for (int i = 0; i < src.Length; i++)
        {
            var c = table[src[i]];
            dst[3 * i] = c.R;
            dst[3 * i + 1] = c.G;
            dst[3 * i + 2] = c.B;
        }
        return colour;
    }

    /// <summary>Draws one scene: an RGB image and its mask of Cityscapes label ids.</summary>
    public static (Image Image, Image LabelIds) RenderScene(int width, int height, long seed)
    {
        var canvas = new Canvas(width, height, seed);
        canvas.Draw(new DataRandom(seed));
        var image = Image.FromPixels(canvas.Rgb, width, height, 3);
        var labels = Image.FromPixels(canvas.Labels, width, height, 1);
        return (image, labels);
    }

    // Label ids (gtFine labelIds).
    private const byte EgoVehicle = 1, Road = 7, Sidewalk = 8, Building = 11, Pole = 17, TrafficSign = 20, Vegetation = 21,
        Terrain = 22, Sky = 23, Person = 24, Car = 26;

    private sealed class Canvas
    {
        private readonly int _w, _h;
        private readonly uint _noiseSeed;

        public Canvas(int w, int h, long seed)
        {
            _w = w;
            _h = h;
            _noiseSeed = (uint)(seed ^ (seed >> 32));
            Rgb = new byte[w * h * 3];
            Labels = new byte[w * h];
        }

        public byte[] Rgb { get; }
        public byte[] Labels { get; }

        private delegate (int r, int g, int b) Shader(int x, int y);

        private void Put(int x, int y, byte label, Shader shade)
        {
            if ((uint)x >= (uint)_w || (uint)y >= (uint)_h) return;
            int i = y * _w + x;
            Labels[i] = label;
            var (r, g, b) = shade(x, y);
            Rgb[3 * i] = Clamp(r);
            Rgb[3 * i + 1] = Clamp(g);
            Rgb[3 * i + 2] = Clamp(b);
        }

        private static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

        private void FillRect(double x0, double y0, double x1, double y1, byte label, Shader shade)
        {
            int ax = Math.Max(0, (int)Math.Floor(x0)), bx = Math.Min(_w, (int)Math.Ceiling(x1));
            int ay = Math.Max(0, (int)Math.Floor(y0)), by = Math.Min(_h, (int)Math.Ceiling(y1));
            for (int y = ay; y < by; y++)
                for (int x = ax; x < bx; x++)
                    Put(x, y, label, shade);
        }

        private void FillEllipse(double cx, double cy, double rx, double ry, byte label, Shader shade)
        {
            int ay = Math.Max(0, (int)(cy - ry)), by = Math.Min(_h - 1, (int)(cy + ry) + 1);
            for (int y = ay; y <= by; y++)
            {
                double dy = (y + 0.5 - cy) / ry;
                if (dy * dy > 1) continue;
                double half = rx * Math.Sqrt(1 - dy * dy);
                int ax = Math.Max(0, (int)Math.Ceiling(cx - half - 0.5)), bx = Math.Min(_w - 1, (int)Math.Floor(cx + half - 0.5));
                for (int x = ax; x <= bx; x++) Put(x, y, label, shade);
            }
        }

        /// <summary>Scanline fill of a polygon (even-odd rule, pixel centres).</summary>
        private void FillPolygon((double x, double y)[] p, byte label, Shader shade)
        {
            double minY = p.Min(q => q.y), maxY = p.Max(q => q.y);
            int ay = Math.Max(0, (int)Math.Floor(minY)), by = Math.Min(_h - 1, (int)Math.Ceiling(maxY));
            var xs = new List<double>();
            for (int y = ay; y <= by; y++)
            {
                double sy = y + 0.5;
                xs.Clear();
                for (int k = 0; k < p.Length; k++)
                {
                    var a = p[k];
                    var b = p[(k + 1) % p.Length];
                    if ((a.y <= sy && b.y > sy) || (b.y <= sy && a.y > sy))
                        xs.Add(a.x + (sy - a.y) / (b.y - a.y) * (b.x - a.x));
                }
                xs.Sort();
                for (int k = 0; k + 1 < xs.Count; k += 2)
                {
                    int ax = Math.Max(0, (int)Math.Ceiling(xs[k] - 0.5)), bx = Math.Min(_w - 1, (int)Math.Floor(xs[k + 1] - 0.5));
                    for (int x = ax; x <= bx; x++) Put(x, y, label, shade);
                }
            }
        }

        private uint Hash(int x, int y, uint salt)
        {
            uint h = (uint)x * 0x8DA6B343u ^ (uint)y * 0xD8163841u ^ salt * 0xCB1AB31Fu ^ _noiseSeed;
            h ^= h >> 13;
            h *= 0x5BD1E995u;
            h ^= h >> 15;
            return h;
        }

        /// <summary>Uniform noise in [-1, 1].</summary>
        private double Noise(int x, int y, uint salt) => Hash(x, y, salt) / (double)uint.MaxValue * 2 - 1;

        /// <summary>Smooth value noise in [-1, 1] with cells of <paramref name="cell"/> pixels.</summary>
        private double Smooth(int x, int y, double cell, uint salt)
        {
            double fx = x / cell, fy = y / cell;
            int ix = (int)Math.Floor(fx), iy = (int)Math.Floor(fy);
            double tx = fx - ix, ty = fy - iy;
            tx = tx * tx * (3 - 2 * tx);
            ty = ty * ty * (3 - 2 * ty);
            double a = Noise(ix, iy, salt), b = Noise(ix + 1, iy, salt), c = Noise(ix, iy + 1, salt), d = Noise(ix + 1, iy + 1, salt);
            return (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
        }

        public void Draw(DataRandom rnd)
        {
            int w = _w, h = _h;
            double horizon = h * rnd.Uniform(0.38, 0.48);
            double vx = w * rnd.Uniform(0.4, 0.6);
            double scale = Math.Min(w, 2 * h) / 2048.0;  // texture scale relative to full Cityscapes resolution

            // Sky: a vertical gradient with soft clouds.
            double skyTint = rnd.Uniform(-20, 20);
            FillRect(0, 0, w, h, Sky, (x, y) =>
            {
                double t = y / Math.Max(1.0, horizon);
                double cloud = Math.Max(0, Smooth(x, y, 90 * scale + 4, 1)) * 60;
                return ((int)(90 + 60 * t + cloud + skyTint), (int)(140 + 50 * t + cloud), (int)(200 + 30 * t + cloud * 0.6));
            });

            // Road edges: lines from near the vanishing point to the bottom corners.
            double roadTop = w * 0.015;
            double leftBottom = w * rnd.Uniform(-0.05, 0.15), rightBottom = w * rnd.Uniform(0.85, 1.05);
            double walkWidth = w * rnd.Uniform(0.15, 0.3);
            double RoadLeft(double y) => vx - roadTop + (leftBottom - (vx - roadTop)) * (y - horizon) / (h - horizon);
            double RoadRight(double y) => vx + roadTop + (rightBottom - (vx + roadTop)) * (y - horizon) / (h - horizon);

            // Buildings along both sides, from their roof line down to the bottom (the street covers their base).
            foreach (bool left in new[] { true, false })
            {
                double x = left ? 0 : vx + w * 0.04;
                double end = left ? vx - w * 0.04 : w;
                while (x < end)
                {
                    double bw = w * rnd.Uniform(0.06, 0.18);
                    double top = horizon - h * rnd.Uniform(0.08, 0.38);
                    int baseR = rnd.NextInclusive(90, 190), baseG = baseR - rnd.NextInclusive(0, 30), baseB = baseG - rnd.NextInclusive(0, 30);
                    double winW = Math.Max(2, w * rnd.Uniform(0.008, 0.015)), winH = winW * rnd.Uniform(1.2, 1.8);
                    double pitchX = winW * rnd.Uniform(1.8, 2.6), pitchY = winH * rnd.Uniform(1.5, 2.2);
                    double x0 = x;
                    uint salt = (uint)rnd.Next(1 << 20);
                    FillRect(x, top, Math.Min(end, x + bw), h, Building, (px, py) =>
                    {
                        double u = (px - x0) % pitchX, v = (py - top) % pitchY;
                        bool window = u > (pitchX - winW) / 2 && u < (pitchX + winW) / 2 && v > (pitchY - winH) / 2 && v < (pitchY + winH) / 2
                                      && py < horizon;
                        double n = Smooth(px, py, 6 * scale + 2, salt) * 12;
                        return window ? ((int)(40 + n), (int)(50 + n), (int)(70 + n)) : ((int)(baseR + n), (int)(baseG + n), (int)(baseB + n));
                    });
                    x += bw;
                }
            }

            // Trees: trunks and noisy crowns, in front of the buildings.
            int trees = rnd.NextInclusive(2, 5);
            for (int t = 0; t < trees; t++)
            {
                bool left = rnd.Chance(0.5);
                double baseY = horizon + (h - horizon) * rnd.Uniform(0.02, 0.15);
                double cx = left ? RoadLeft(baseY) - walkWidth * rnd.Uniform(0.3, 0.9) * (baseY - horizon) / (h - horizon) - w * 0.02
                                 : RoadRight(baseY) + walkWidth * rnd.Uniform(0.3, 0.9) * (baseY - horizon) / (h - horizon) + w * 0.02;
                double r = w * rnd.Uniform(0.03, 0.07);
                uint salt = (uint)rnd.Next(1 << 20);
                FillRect(cx - r * 0.12, baseY - r * 1.6, cx + r * 0.12, baseY, Vegetation, (px, py) =>
                    ((int)(80 + Noise(px, py, salt) * 10), (int)(60 + Noise(px, py, salt + 1) * 8), 40));
                FillEllipse(cx, baseY - r * 2.2, r, r * 1.1, Vegetation, (px, py) =>
                {
                    double n = Smooth(px, py, 5 * scale + 1.5, salt) * 35 + Noise(px, py, salt) * 10;
                    return ((int)(75 + n), (int)(125 + n * 1.2), (int)(40 + n * 0.5));
                });
            }

            // Terrain strips at the foot of the facades on one side, sometimes.
            if (rnd.Chance(0.5))
            {
                double outer = -walkWidth * 1.6;
                FillPolygon(new[] { (vx - roadTop - w * 0.03, horizon), (vx - roadTop - w * 0.02, horizon), (leftBottom - walkWidth, (double)h), (leftBottom + outer, (double)h) },
                    Terrain, (px, py) => ((int)(140 + Noise(px, py, 7) * 20), (int)(170 + Noise(px, py, 8) * 20), (int)(110 + Noise(px, py, 9) * 15)));
            }

            // Sidewalks: tiled strips beside the road.
            Shader walk = (px, py) =>
            {
                double tile = 40 * scale + 3;
                bool joint = px % (int)tile == 0 || py % (int)(tile * 0.6) == 0;
                int n = (int)(Noise(px, py, 11) * 8);
                return joint ? (150 + n, 130 + n, 140 + n) : (190 + n, 170 + n, 180 + n);
            };
            FillPolygon(new[] { (vx - roadTop - w * 0.02, horizon), (vx - roadTop, horizon), (leftBottom, (double)h), (leftBottom - walkWidth, (double)h) }, Sidewalk, walk);
            FillPolygon(new[] { (vx + roadTop, horizon), (vx + roadTop + w * 0.02, horizon), (rightBottom + walkWidth, (double)h), (rightBottom, (double)h) }, Sidewalk, walk);

            // Road: asphalt with lane marks (still road).
            FillPolygon(new[] { (vx - roadTop, horizon), (vx + roadTop, horizon), (rightBottom, (double)h), (leftBottom, (double)h) }, Road, (px, py) =>
            {
                double t = (py - horizon) / (h - horizon);
                double centre = vx + ((leftBottom + rightBottom) / 2 - vx) * t;
                double markHalf = Math.Max(0.6, w * 0.004 * t);
                double dash = (py - horizon) / Math.Max(1e-6, t * t + 0.05) % (h * 0.25);
                bool mark = Math.Abs(px - centre) < markHalf && dash < h * 0.12;
                int n = (int)(Noise(px, py, 12) * 10 + Smooth(px, py, 30 * scale + 3, 13) * 8);
                return mark ? (225 + n, 225 + n, 215 + n) : (85 + n, 82 + n, 90 + n);
            });

            // Poles with traffic signs on the sidewalks.
            int poles = rnd.NextInclusive(1, 3);
            for (int k = 0; k < poles; k++)
            {
                bool left = rnd.Chance(0.5);
                double baseY = horizon + (h - horizon) * rnd.Uniform(0.1, 0.6);
                double t = (baseY - horizon) / (h - horizon);
                double x = left ? RoadLeft(baseY) - walkWidth * t * 0.3 : RoadRight(baseY) + walkWidth * t * 0.3;
                double ph = h * 0.5 * t + h * 0.05, pw = Math.Max(1.5, w * 0.004 * t + 1);
                FillRect(x - pw / 2, baseY - ph, x + pw / 2, baseY, Pole, (px, py) => (120 + (int)(Noise(px, py, 14) * 8), 120, 125));
                double s = ph * 0.18;
                bool round = rnd.Chance(0.5);
                Shader sign = (px, py) => ((int)(230 + Noise(px, py, 15) * 10), round ? 40 : 200, round ? 40 : 20);
                if (round) FillEllipse(x, baseY - ph, s / 2, s / 2, TrafficSign, sign);
                else FillRect(x - s / 2, baseY - ph - s / 2, x + s / 2, baseY - ph + s / 2, TrafficSign, sign);
            }

            // Cars on the road (far ones first) and persons on the sidewalks.
            var cars = Enumerable.Range(0, rnd.NextInclusive(1, 4)).Select(_ => horizon + (h - horizon) * rnd.Uniform(0.08, 0.85)).OrderBy(y => y).ToList();
            foreach (var baseY in cars)
            {
                double t = (baseY - horizon) / (h - horizon);
                double cw = w * 0.3 * t + 4, ch = cw * 0.45;
                double lo = RoadLeft(baseY), hi = RoadRight(baseY);
                double cx = rnd.Uniform(lo + cw * 0.3, Math.Max(lo + cw * 0.3, hi - cw * 0.3));
                var paint = rnd.Next(5) switch { 0 => (170, 30, 30), 1 => (30, 50, 140), 2 => (220, 220, 225), 3 => (30, 30, 35), _ => (120, 125, 130) };
                Shader body = (px, py) => { int n = (int)(Noise(px, py, 16) * 6); return (paint.Item1 + n, paint.Item2 + n, paint.Item3 + n); };
                Shader glass = (px, py) => (50, 60, 75 + (int)(Noise(px, py, 17) * 10));
                Shader tyre = (px, py) => (20, 20, 22);
                FillRect(cx - cw / 2, baseY - ch * 0.65, cx + cw / 2, baseY - ch * 0.15, Car, body);
                FillPolygon(new[] { (cx - cw * 0.35, baseY - ch * 0.65), (cx - cw * 0.22, baseY - ch), (cx + cw * 0.22, baseY - ch), (cx + cw * 0.35, baseY - ch * 0.65) }, Car, glass);
                FillEllipse(cx - cw * 0.3, baseY - ch * 0.15, cw * 0.1, ch * 0.15, Car, tyre);
                FillEllipse(cx + cw * 0.3, baseY - ch * 0.15, cw * 0.1, ch * 0.15, Car, tyre);
            }
            int persons = rnd.NextInclusive(0, 3);
            for (int k = 0; k < persons; k++)
            {
                bool left = rnd.Chance(0.5);
                double baseY = horizon + (h - horizon) * rnd.Uniform(0.1, 0.7);
                double t = (baseY - horizon) / (h - horizon);
                double x = left ? RoadLeft(baseY) - walkWidth * t * rnd.Uniform(0.2, 0.7) : RoadRight(baseY) + walkWidth * t * rnd.Uniform(0.2, 0.7);
                double ph = h * 0.45 * t + 6, pw = ph * 0.28;
                var cloth = (rnd.NextInclusive(20, 200), rnd.NextInclusive(20, 200), rnd.NextInclusive(20, 200));
                Shader clothes = (px, py) => { int n = (int)(Noise(px, py, 18) * 10); return (cloth.Item1 + n, cloth.Item2 + n, cloth.Item3 + n); };
                FillRect(x - pw * 0.35, baseY - ph * 0.45, x - pw * 0.05, baseY, Person, (px, py) => (40, 40, 60));
                FillRect(x + pw * 0.05, baseY - ph * 0.45, x + pw * 0.35, baseY, Person, (px, py) => (40, 40, 60));
                FillRect(x - pw / 2, baseY - ph * 0.82, x + pw / 2, baseY - ph * 0.42, Person, clothes);
                FillEllipse(x, baseY - ph * 0.9, pw * 0.3, ph * 0.09, Person, (px, py) => (225, 185, 150));
            }

            // The ego vehicle's hood along the bottom edge (ignored in training, as in the real data).
            if (rnd.Chance(0.7))
            {
                double top = h * rnd.Uniform(0.9, 0.95);
                FillPolygon(new[] { (0.0, (double)h), (w * 0.1, top), (w * 0.9, top), ((double)w, (double)h) }, EgoVehicle, (px, py) =>
                {
                    int n = (int)(Noise(px, py, 19) * 6);
                    return (25 + n, 28 + n, 32 + n);
                });
            }

            // Sensor noise on every pixel.
            for (int i = 0; i < Rgb.Length; i++)
            {
                int n = (int)(Noise(i, 0, 20) * 6);
                Rgb[i] = Clamp(Rgb[i] + n);
            }
        }
    }
}
