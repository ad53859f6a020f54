using FastSeg.Data.Interop;
using FastSeg.Torch;

namespace FastSeg.Data;

/// <summary>
/// One training example on its way through the pipeline: an RGB image, its label mask (train ids; null for unlabelled
/// splits) and an id. Geometric operations (<see cref="Resize"/>, <see cref="Pad"/>, <see cref="Crop"/>,
/// <see cref="Flip"/>) are recorded and run together, in one resampling pass per image, when the pixels are next
/// needed; image and mask always receive the same geometry, the mask with nearest-neighbour sampling.
/// The sample owns its images and tensors and frees them on <see cref="Dispose"/>.
/// </summary>
public sealed class Sample : IDisposable
{
    private Image _image;
    private Image? _mask;
    private Plan? _plan;

    /// <summary>Creates a sample that takes ownership of <paramref name="image"/> and <paramref name="mask"/>.</summary>
    public Sample(Image image, Image? mask, string id, int index = -1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (mask is not null)
        {
            if (mask.Channels != 1)
                throw new ArgumentException($"sample {id}: the mask has {mask.Channels} channels; masks have one", nameof(mask));
            if (mask.Width != image.Width || mask.Height != image.Height)
                throw new ArgumentException($"sample {id}: the mask is {mask.Width}x{mask.Height} but the image is {image.Width}x{image.Height}", nameof(mask));
        }
        _image = image;
        _mask = mask;
        Id = id;
        Index = index;
    }

    /// <summary>The sample's id (for Cityscapes the file stem, e.g. <c>aachen_000000_000019</c>).</summary>
    public string Id { get; }

    /// <summary>The dataset index it came from (-1 if none).</summary>
    public int Index { get; }

    /// <summary>The image, with pending geometry applied.</summary>
    public Image Image
    {
        get
        {
            Materialize();
            return _image;
        }
    }

    /// <summary>The mask (train ids), with pending geometry applied; null for unlabelled samples.</summary>
    public Image? Mask
    {
        get
        {
            Materialize();
            return _mask;
        }
    }

    /// <summary>Whether the sample has a mask.</summary>
    public bool HasMask => _mask is not null;

    /// <summary>Current width (including pending geometry).</summary>
    public int Width => _plan?.X.Extent ?? _image.Width;

    /// <summary>Current height (including pending geometry).</summary>
    public int Height => _plan?.Y.Extent ?? _image.Height;

    /// <summary>The normalisation applied when the image becomes a float tensor (set by <see cref="Normalize"/>).</summary>
    public Normalization? Normalization { get; set; }

    /// <summary>The CHW float32 image tensor, once <see cref="ToTensor"/> has run.</summary>
    public torch.Tensor? ImageTensor { get; private set; }

    /// <summary>The HW int64 mask tensor, once <see cref="ToTensor"/> has run.</summary>
    public torch.Tensor? MaskTensor { get; private set; }

    /// <summary>Whether geometry is recorded but not yet applied.</summary>
    public bool HasPendingGeometry => _plan is not null;

    /// <summary>Replaces the image (same size as the mask); the old one is disposed.</summary>
    public void SetImage(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        Materialize();
        if (_mask is not null && (image.Width != _mask.Width || image.Height != _mask.Height))
            throw new ArgumentException($"sample {Id}: the new image is {image.Width}x{image.Height} but the mask is {_mask.Width}x{_mask.Height}");
        if (!ReferenceEquals(image, _image)) _image.Dispose();
        _image = image;
    }

    /// <summary>Replaces the mask (same size as the image); the old one is disposed.</summary>
    public void SetMask(Image? mask)
    {
        Materialize();
        if (mask is not null && (mask.Width != _image.Width || mask.Height != _image.Height || mask.Channels != 1))
            throw new ArgumentException($"sample {Id}: the new mask is {mask.Describe()} but the image is {_image.Width}x{_image.Height}");
        if (!ReferenceEquals(mask, _mask)) _mask?.Dispose();
        _mask = mask;
    }

    // ---- geometry ---------------------------------------------------------------------------------------------------

    /// <summary>Resizes image and mask to <paramref name="width"/> x <paramref name="height"/> (image with
    /// <paramref name="interpolation"/>, mask nearest). Consecutive resizes are merged into one resampling.</summary>
    public void Resize(int width, int height, Interpolation interpolation = Interpolation.Linear)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"sample {Id}: cannot resize to {width}x{height}");
        if (interpolation == Interpolation.Area)
        {
            Materialize();
            if (width == _image.Width && height == _image.Height) return;
            var image = _image.Resize(width, height, Interpolation.Area);
            var mask = _mask?.Resize(width, height, Interpolation.Nearest);
            _image.Dispose();
            _mask?.Dispose();
            _image = image;
            _mask = mask;
            return;
        }
        if (_plan is not null && (!_plan.IsResizeOnly || _plan.Interpolation != interpolation)) Materialize();
        if (_plan is null)
        {
            if (width == _image.Width && height == _image.Height) return;
            _plan = new Plan(_image.Width, _image.Height, interpolation);
        }
        _plan.X.Scaled = width;
        _plan.Y.Scaled = height;
        if (_plan.IsIdentity) _plan = null;
    }

    /// <summary>
    /// Pads the sides. <paramref name="imageValue"/> (per channel) and <paramref name="maskValue"/> fill
    /// <see cref="BorderMode.Constant"/> borders; other modes mirror or repeat the content of both alike.
    /// </summary>
    public void Pad(int top, int bottom, int left, int right, BorderMode border, double[] imageValue, int maskValue)
    {
        if (top < 0 || bottom < 0 || left < 0 || right < 0) throw new ArgumentOutOfRangeException(nameof(top), "padding cannot be negative");
        if (top + bottom + left + right == 0) return;
        var value = Image.Expand(imageValue);
        if (_plan is not null && (_plan.X.Cropped || _plan.Y.Cropped ||
                                  (_plan.HasPad && (_plan.Border != border || !_plan.ImageValue.SequenceEqual(value) || _plan.MaskValue != maskValue))))
            Materialize();
        _plan ??= new Plan(_image.Width, _image.Height, Interpolation.Linear);
        // Padding a flipped image on one side is padding the unflipped image on the other side, then flipping.
        if (_plan.X.Flip) (left, right) = (right, left);
        if (_plan.Y.Flip) (top, bottom) = (bottom, top);
        _plan.X.PadBefore += left;
        _plan.X.PadAfter += right;
        _plan.Y.PadBefore += top;
        _plan.Y.PadAfter += bottom;
        _plan.Border = border;
        _plan.ImageValue = value;
        _plan.MaskValue = maskValue;
        _plan.HasPad = true;
    }

    /// <summary>Keeps the window at (<paramref name="x"/>, <paramref name="y"/>); it must lie inside the current extent.</summary>
    public void Crop(int x, int y, int width, int height)
    {
        if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > Width || y + height > Height)
            throw new ArgumentOutOfRangeException(nameof(x),
                $"sample {Id}: the crop window {width}x{height} at ({x}, {y}) does not fit in the {Width}x{Height} image");
        if (x == 0 && y == 0 && width == Width && height == Height) return;
        _plan ??= new Plan(_image.Width, _image.Height, Interpolation.Linear);
        _plan.X.Crop(x, width);
        _plan.Y.Crop(y, height);
    }

    /// <summary>Mirrors image and mask.</summary>
    public void Flip(FlipMode mode)
    {
        _plan ??= new Plan(_image.Width, _image.Height, Interpolation.Linear);
        if (mode != FlipMode.Vertical) _plan.X.Flip = !_plan.X.Flip;
        if (mode != FlipMode.Horizontal) _plan.Y.Flip = !_plan.Y.Flip;
        if (_plan.IsIdentity) _plan = null;
    }

    /// <summary>Applies the pending geometry now (one pass over image and mask).</summary>
    public void Materialize()
    {
        var plan = _plan;
        if (plan is null) return;
        _plan = null;
        if (plan.IsIdentity) return;
        var x = plan.X.Native;
        var y = plan.Y.Native;
        var image = _image.Warp(x, y, plan.Interpolation, plan.Border, plan.ImageValue);
        Image? mask = null;
        try
        {
            mask = _mask?.Warp(x, y, Interpolation.Nearest, plan.Border, new double[] { plan.MaskValue });
        }
        catch
        {
            image.Dispose();
            throw;
        }
        _image.Dispose();
        _mask?.Dispose();
        _image = image;
        _mask = mask;
    }

    /// <summary>
    /// The mask as it would be after the pending geometry, without applying anything to the image (the caller owns the
    /// result). Used to look at labels before deciding on a crop.
    /// </summary>
    public Image? RenderMask()
    {
        if (_mask is null) return null;
        if (_plan is null || _plan.IsIdentity) return _mask.Clone();
        return _mask.Warp(_plan.X.Native, _plan.Y.Native, Interpolation.Nearest, _plan.Border, new double[] { _plan.MaskValue });
    }

    // ---- tensors ----------------------------------------------------------------------------------------------------

    /// <summary>
    /// Converts to tensors and keeps them in <see cref="ImageTensor"/> (CHW float32, normalised with
    /// <see cref="Normalization"/> when set) and <see cref="MaskTensor"/> (HW int64).
    /// </summary>
    public void ToTensor()
    {
        var image = Image.ToTensor(Normalization?.Mean.ToArray(), Normalization?.Std.ToArray(), Normalization?.MaxPixelValue ?? 255.0)
            .DetachFromDisposeScope();
        var mask = _mask?.ToMaskTensor().DetachFromDisposeScope();
        ImageTensor?.Dispose();
        MaskTensor?.Dispose();
        ImageTensor = image;
        MaskTensor = mask;
    }

    /// <summary>Frees images and tensors.</summary>
    public void Dispose()
    {
        _plan = null;
        _image.Dispose();
        _mask?.Dispose();
        ImageTensor?.Dispose();
        MaskTensor?.Dispose();
    }

    /// <summary>A recorded chain resize → pad → crop → flip, per axis.</summary>
    private sealed class Plan
    {
        public Plan(int width, int height, Interpolation interpolation)
        {
            X = new Axis(width);
            Y = new Axis(height);
            Interpolation = interpolation;
        }

        public Axis X { get; }
        public Axis Y { get; }
        public Interpolation Interpolation { get; }
        public BorderMode Border { get; set; } = BorderMode.Constant;
        public double[] ImageValue { get; set; } = new double[4];
        public int MaskValue { get; set; } = 255;
        public bool HasPad { get; set; }

        public bool IsResizeOnly => !HasPad && !X.Cropped && !Y.Cropped && !X.Flip && !Y.Flip;
        public bool IsIdentity => IsResizeOnly && X.Scaled == X.Source && Y.Scaled == Y.Source;
    }

    private sealed class Axis
    {
        public Axis(int source)
        {
            Source = source;
            Scaled = source;
        }

        public int Source { get; }
        public int Scaled { get; set; }
        public int PadBefore { get; set; }
        public int PadAfter { get; set; }
        public int Offset { get; private set; }
        public int Size { get; private set; }
        public bool Cropped { get; private set; }
        public bool Flip { get; set; }

        public int Padded => Scaled + PadBefore + PadAfter;
        public int Extent => Cropped ? Size : Padded;

        public void Crop(int start, int length)
        {
            // A window on the flipped output is the mirrored window on the unflipped one.
            int s = Flip ? Extent - start - length : start;
            Offset = Cropped ? Offset + s : s;
            Size = length;
            Cropped = true;
        }

        public FsAxisPlan Native => new()
        {
            Scaled = Scaled,
            PadBefore = PadBefore,
            Offset = Cropped ? Offset : 0,
            Size = Extent,
            Flip = Flip ? 1 : 0,
        };
    }
}
