// Image I/O and the pixel kernels of the data pipeline, on OpenCV. An fs_image is a heap-allocated cv::Mat that is
// always continuous, 8- or 16-bit unsigned, with colour kept in RGB order (OpenCV's own order is BGR, so decoding
// and encoding swap the channels). The fused geometric kernel (fs_image_warp_axes) is written here rather than
// composed from cv::resize + copyMakeBorder + crop + flip: it reads only the source pixels the crop needs.
#include "common.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <type_traits>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

cv::Mat& image_ref(fs_image h) {
    if (h == nullptr) throw std::invalid_argument("null image handle");
    return *static_cast<cv::Mat*>(h);
}

fs_image new_image(cv::Mat m) {
    if (!m.isContinuous()) m = m.clone();
    return new cv::Mat(std::move(m));
}

void check_depth(const cv::Mat& m, const char* what) {
    if (m.depth() != CV_8U && m.depth() != CV_16U)
        throw std::invalid_argument(std::string(what) + ": only 8-bit and 16-bit unsigned images are supported");
}

std::string size_text(const cv::Mat& m) {
    return std::to_string(m.cols) + "x" + std::to_string(m.rows) + "x" + std::to_string(m.channels());
}

// ---- decoding -------------------------------------------------------------------------------------------------

bool is_png(const uint8_t* p, size_t n) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    return n >= 8 && std::memcmp(p, sig, 8) == 0;
}

bool is_jpeg(const uint8_t* p, size_t n) { return n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF; }

constexpr size_t kPngTail = 4096;    // IEND may be followed by a little padding
constexpr size_t kJpegTail = 65536;  // EOI may be followed by vendor trailers

// OpenCV decodes a truncated JPEG into a partly grey image with only a warning, and some truncated PNGs into a partial
// image too. Both formats have an explicit end, so data that lacks it is rejected before decoding. `head` is the start
// of the data (at least its first 8 bytes when there are that many), `tail` its last `tail_n` bytes.
void check_complete(const uint8_t* head, size_t head_n, const uint8_t* tail, size_t tail_n, const std::string& what) {
    if (is_png(head, head_n)) {
        static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
        const size_t window = std::min(tail_n, kPngTail);
        const uint8_t* t = tail + tail_n - window;
        bool found = false;
        for (size_t k = window; k >= 12 && !found; --k)
            if (std::memcmp(t + k - 12, iend, 12) == 0) found = true;
        if (!found) throw std::runtime_error(what + ": truncated PNG (the IEND chunk that ends the file is missing)");
    } else if (is_jpeg(head, head_n)) {
        const size_t window = std::min(tail_n, kJpegTail);
        const uint8_t* t = tail + tail_n - window;
        bool found = false;
        for (size_t k = window; k >= 2 && !found; --k)
            if (t[k - 2] == 0xFF && t[k - 1] == 0xD9) found = true;
        if (!found) throw std::runtime_error(what + ": truncated JPEG (the end-of-image marker is missing)");
    }
}

// Reads the first bytes and the tail of a file for check_complete, without reading the whole file.
void check_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw std::runtime_error(path + ": cannot open the file (" + std::strerror(errno) + ")");
    const std::streamoff size = f.tellg();
    if (size < 0) throw std::runtime_error(path + ": cannot determine the file size");
    if (size == 0) throw std::runtime_error(path + ": empty file");
    uint8_t head[8] = {0};
    const size_t head_n = static_cast<size_t>(std::min<std::streamoff>(size, 8));
    const size_t tail_n = static_cast<size_t>(std::min<std::streamoff>(size, static_cast<std::streamoff>(kJpegTail)));
    std::vector<uint8_t> tail(tail_n);
    f.seekg(0);
    if (!f.read(reinterpret_cast<char*>(head), static_cast<std::streamsize>(head_n)))
        throw std::runtime_error(path + ": read error (" + std::strerror(errno) + ")");
    f.seekg(size - static_cast<std::streamoff>(tail_n));
    if (!f.read(reinterpret_cast<char*>(tail.data()), static_cast<std::streamsize>(tail_n)))
        throw std::runtime_error(path + ": read error (" + std::strerror(errno) + ")");
    check_complete(head, head_n, tail.data(), tail_n, path);
}

int decode_flags(int32_t mode) {
    switch (mode) {
        // Pixels are taken as stored (no EXIF rotation), so images and masks stay aligned.
        case FS_DECODE_RGB: return cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION;
        case FS_DECODE_GRAY: return cv::IMREAD_GRAYSCALE | cv::IMREAD_IGNORE_ORIENTATION;
        case FS_DECODE_UNCHANGED:
        case FS_DECODE_LABEL: return cv::IMREAD_UNCHANGED;
        default: throw std::invalid_argument("decode: unknown mode " + std::to_string(mode));
    }
}

// Turns what OpenCV decoded into the library's conventions: RGB(A) colour order, single-channel label masks.
cv::Mat finish_decode(cv::Mat m, int32_t mode, const std::string& what) {
    if (m.empty()) throw std::runtime_error(what + ": not a readable image (unknown format or corrupt data)");
    if (m.depth() != CV_8U && m.depth() != CV_16U)
        throw std::runtime_error(what + ": unsupported pixel depth (only 8-bit and 16-bit images are read)");
    if (mode == FS_DECODE_LABEL) {
        if (m.channels() == 1) return m;
        std::vector<cv::Mat> planes;
        cv::split(m, planes);
        for (int c = 1; c < std::min(3, m.channels()); ++c)
            if (cv::countNonZero(planes[0] != planes[c]) != 0)
                throw std::runtime_error(what + ": the mask is a colour image (" + std::to_string(m.channels()) +
                                         " channels with different values); label masks must hold one id per pixel");
        return planes[0];
    }
    if (m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
    else if (m.channels() == 4) cv::cvtColor(m, m, cv::COLOR_BGRA2RGBA);
    return m;
}

cv::Mat decode(const uint8_t* p, size_t n, int32_t mode, const std::string& what) {
    if (n == 0) throw std::runtime_error(what + ": empty file");
    const int flags = decode_flags(mode);
    check_complete(p, n, p, n, what);
    const cv::Mat raw(1, static_cast<int>(n), CV_8U, const_cast<uint8_t*>(p));
    return finish_decode(cv::imdecode(raw, flags), mode, what);
}

cv::Mat decode_file(const std::string& path, int32_t mode) {
    const int flags = decode_flags(mode);
    check_file(path);
    // imread streams the file through the codec: no copy of the whole file in memory.
    return finish_decode(cv::imread(path, flags), mode, path);
}

// ---- encoding -------------------------------------------------------------------------------------------------

std::vector<uchar> encode(const cv::Mat& m, std::string format, int32_t param) {
    check_depth(m, "encode");
    std::transform(format.begin(), format.end(), format.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!format.empty() && format[0] != '.') format = "." + format;
    std::vector<int> params;
    if (format == ".png") {
        if (param >= 0) params = {cv::IMWRITE_PNG_COMPRESSION, std::min(param, 9)};
    } else if (format == ".jpg" || format == ".jpeg") {
        if (m.depth() != CV_8U) throw std::invalid_argument("encode: JPEG holds 8-bit images only");
        if (param >= 0) params = {cv::IMWRITE_JPEG_QUALITY, std::min(param, 100)};
    } else {
        throw std::invalid_argument("encode: unsupported format '" + format + "' (use .png or .jpg)");
    }
    // A fresh Mat for the reordered copy: converting into a header that shares m's buffer would rewrite the caller's
    // image in place.
    cv::Mat stored;
    if (m.channels() == 3) cv::cvtColor(m, stored, cv::COLOR_RGB2BGR);
    else if (m.channels() == 4) cv::cvtColor(m, stored, cv::COLOR_RGBA2BGRA);
    else stored = m;
    std::vector<uchar> out;
    if (!cv::imencode(format, stored, out, params)) throw std::runtime_error("encode: OpenCV could not encode the image");
    return out;
}

// ---- the fused resize / pad / crop / flip kernel ----------------------------------------------------------------

constexpr int kCoefBits = 11;                 // weights in 1/2048, as OpenCV's fixed-point linear resize
constexpr int kCoefScale = 1 << kCoefBits;

struct AxisTable {
    std::vector<int> i0, i1;       // source indices
    std::vector<int> w0, w1;       // their weights (linear) in 1/kCoefScale
    std::vector<uint8_t> border;   // 1: constant padding
};

int reflect_index(int p, int n, int border) {
    if (n == 1) return 0;
    if (border == FS_BORDER_REFLECT_101) {  // gfedcb|abcdefgh|gfedcba
        const int period = 2 * n - 2;
        p %= period;
        if (p < 0) p += period;
        return p < n ? p : period - p;
    }
    const int period = 2 * n;  // FS_BORDER_REFLECT: fedcba|abcdefgh|hgfedcb
    p %= period;
    if (p < 0) p += period;
    return p < n ? p : period - 1 - p;
}

AxisTable build_axis(const fs_axis_plan& a, int src, bool linear, int border, const char* name) {
    if (a.scaled < 1 || a.size < 1)
        throw std::invalid_argument(std::string("warp: the ") + name + " axis needs positive scaled and output sizes");
    AxisTable t;
    const size_t n = static_cast<size_t>(a.size);
    t.i0.resize(n);
    t.i1.resize(n);
    t.w0.resize(n);
    t.w1.resize(n);
    t.border.assign(n, 0);
    // OpenCV's index rules: nearest takes floor(p * src/scaled); linear centres pixels, (p + 0.5) * src/scaled - 0.5,
    // and clamps at both ends.
    const double inv_scale = static_cast<double>(a.scaled) / src;
    const double step = 1.0 / inv_scale;
    for (int i = 0; i < a.size; ++i) {
        const int j = a.flip ? a.size - 1 - i : i;
        int p = a.offset + j - a.pad_before;
        if (p < 0 || p >= a.scaled) {
            switch (border) {
                case FS_BORDER_CONSTANT: t.border[i] = 1; continue;
                case FS_BORDER_REPLICATE: p = std::clamp(p, 0, a.scaled - 1); break;
                case FS_BORDER_REFLECT:
                case FS_BORDER_REFLECT_101: p = reflect_index(p, a.scaled, border); break;
                default: throw std::invalid_argument("warp: unknown border mode " + std::to_string(border));
            }
        }
        if (a.scaled == src) {
            t.i0[i] = t.i1[i] = p;
            t.w0[i] = kCoefScale;
            t.w1[i] = 0;
        } else if (!linear) {
            t.i0[i] = t.i1[i] = std::min(static_cast<int>(std::floor(p * step)), src - 1);
            t.w0[i] = kCoefScale;
            t.w1[i] = 0;
        } else {
            float f = static_cast<float>((p + 0.5) * step - 0.5);
            int s = static_cast<int>(std::floor(f));
            f -= static_cast<float>(s);
            if (s < 0) {
                s = 0;
                f = 0;
            }
            if (s >= src - 1) {
                s = src - 1;
                f = 0;
            }
            t.i0[i] = s;
            t.i1[i] = std::min(s + 1, src - 1);
            t.w0[i] = cv::saturate_cast<short>((1.f - f) * kCoefScale);
            t.w1[i] = cv::saturate_cast<short>(f * kCoefScale);
        }
    }
    return t;
}

template <typename T, int C>
void warp_nearest(const cv::Mat& src, cv::Mat& dst, const AxisTable& X, const AxisTable& Y, const double* value) {
    T fill[4];
    for (int c = 0; c < C; ++c) fill[c] = cv::saturate_cast<T>(value[c]);
    const int W = dst.cols;
    std::vector<int> xofs(static_cast<size_t>(W));
    for (int x = 0; x < W; ++x) xofs[x] = X.i0[x] * C;
    for (int y = 0; y < dst.rows; ++y) {
        T* out = dst.ptr<T>(y);
        if (Y.border[y]) {
            for (int x = 0; x < W; ++x)
                for (int c = 0; c < C; ++c) out[x * C + c] = fill[c];
            continue;
        }
        const T* in = src.ptr<T>(Y.i0[y]);
        for (int x = 0; x < W; ++x) {
            if (X.border[x]) {
                for (int c = 0; c < C; ++c) out[x * C + c] = fill[c];
            } else {
                const T* s = in + xofs[x];
                for (int c = 0; c < C; ++c) out[x * C + c] = s[c];
            }
        }
    }
}

// Separable linear resampling: each needed source row is interpolated horizontally once (two rows cached, as
// consecutive output rows usually share them), then pairs of rows are blended vertically.
template <typename T, typename Acc, int C>
void warp_linear(const cv::Mat& src, cv::Mat& dst, const AxisTable& X, const AxisTable& Y, const double* value) {
    T fill[4];
    for (int c = 0; c < C; ++c) fill[c] = cv::saturate_cast<T>(value[c]);
    const int W = dst.cols;
    std::vector<int> xo0(static_cast<size_t>(W)), xo1(static_cast<size_t>(W));
    for (int x = 0; x < W; ++x) {
        xo0[x] = X.i0[x] * C;
        xo1[x] = X.i1[x] * C;
    }
    std::vector<Acc> buf(static_cast<size_t>(W) * C * 2);
    Acc* rows[2] = {buf.data(), buf.data() + static_cast<size_t>(W) * C};
    int cached[2] = {-1, -1};
    auto horizontal = [&](int sy, Acc* out) {
        const T* in = src.ptr<T>(sy);
        for (int x = 0; x < W; ++x) {
            if (X.border[x]) continue;
            const Acc a = X.w0[x], b = X.w1[x];
            const T* p0 = in + xo0[x];
            const T* p1 = in + xo1[x];
            for (int c = 0; c < C; ++c) out[x * C + c] = static_cast<Acc>(p0[c]) * a + static_cast<Acc>(p1[c]) * b;
        }
    };
    auto find = [&](int sy) { return cached[0] == sy ? 0 : (cached[1] == sy ? 1 : -1); };
    const Acc round = static_cast<Acc>(1) << (2 * kCoefBits - 1);
    const T maxv = std::numeric_limits<T>::max();
    for (int y = 0; y < dst.rows; ++y) {
        T* out = dst.ptr<T>(y);
        if (Y.border[y]) {
            for (int x = 0; x < W; ++x)
                for (int c = 0; c < C; ++c) out[x * C + c] = fill[c];
            continue;
        }
        // The two source rows of this output row, horizontally interpolated; a row already cached is reused and
        // a missing one goes to the slot the other operand does not occupy.
        const int sy0 = Y.i0[y], sy1 = Y.w1[y] != 0 ? Y.i1[y] : sy0;
        int s0 = find(sy0);
        int s1 = find(sy1);
        if (s0 < 0) {
            s0 = s1 == 0 ? 1 : 0;
            horizontal(sy0, rows[s0]);
            cached[s0] = sy0;
            if (sy1 == sy0) s1 = s0;
        }
        if (s1 < 0) {
            s1 = 1 - s0;
            horizontal(sy1, rows[s1]);
            cached[s1] = sy1;
        }
        const Acc* r0 = rows[s0];
        const Acc* r1 = rows[s1];
        const Acc wa = Y.w0[y], wb = Y.w1[y];
        for (int x = 0; x < W; ++x) {
            if (X.border[x]) {
                for (int c = 0; c < C; ++c) out[x * C + c] = fill[c];
                continue;
            }
            for (int c = 0; c < C; ++c) {
                const int k = x * C + c;
                Acc v = (r0[k] * wa + r1[k] * wb + round) >> (2 * kCoefBits);
                out[k] = v < 0 ? 0 : (v > maxv ? maxv : static_cast<T>(v));
            }
        }
    }
}

template <typename T, typename Acc>
void warp_dispatch(const cv::Mat& src, cv::Mat& dst, const AxisTable& X, const AxisTable& Y, bool linear,
                   const double* value) {
    switch (src.channels()) {
        case 1: linear ? warp_linear<T, Acc, 1>(src, dst, X, Y, value) : warp_nearest<T, 1>(src, dst, X, Y, value); break;
        case 2: linear ? warp_linear<T, Acc, 2>(src, dst, X, Y, value) : warp_nearest<T, 2>(src, dst, X, Y, value); break;
        case 3: linear ? warp_linear<T, Acc, 3>(src, dst, X, Y, value) : warp_nearest<T, 3>(src, dst, X, Y, value); break;
        case 4: linear ? warp_linear<T, Acc, 4>(src, dst, X, Y, value) : warp_nearest<T, 4>(src, dst, X, Y, value); break;
        default: throw std::invalid_argument("warp: images with 1 to 4 channels only");
    }
}

cv::Mat warp(const cv::Mat& m, const fs_axis_plan& x, const fs_axis_plan& y, int32_t interpolation, int32_t border,
             const double* value) {
    check_depth(m, "warp");
    if (m.empty()) throw std::invalid_argument("warp: empty source image");
    if (interpolation != FS_INTER_NEAREST && interpolation != FS_INTER_LINEAR)
        throw std::invalid_argument("warp: interpolation must be nearest or linear");
    const bool linear = interpolation == FS_INTER_LINEAR;
    const AxisTable X = build_axis(x, m.cols, linear, border, "x");
    const AxisTable Y = build_axis(y, m.rows, linear, border, "y");
    static const double zero[4] = {0, 0, 0, 0};
    const double* v = value ? value : zero;
    cv::Mat r(y.size, x.size, m.type());
    if (m.depth() == CV_8U) warp_dispatch<uint8_t, int32_t>(m, r, X, Y, linear, v);
    else warp_dispatch<uint16_t, int64_t>(m, r, X, Y, linear, v);
    return r;
}

// ---- normalisation --------------------------------------------------------------------------------------------

template <typename T>
void to_chw(const cv::Mat& m, const float* mean, const float* inv_std, float* dst) {
    const int C = m.channels();
    const int64_t plane = static_cast<int64_t>(m.rows) * m.cols;
    if constexpr (std::is_same<T, uint8_t>::value) {
        // 8-bit: one 256-entry table per channel replaces the arithmetic.
        std::vector<float> lut(static_cast<size_t>(256) * C);
        for (int c = 0; c < C; ++c)
            for (int v = 0; v < 256; ++v) lut[c * 256 + v] = (static_cast<float>(v) - mean[c]) * inv_std[c];
        const uint8_t* in = m.ptr<uint8_t>(0);
        if (C == 3) {
            float* d0 = dst;
            float* d1 = dst + plane;
            float* d2 = dst + 2 * plane;
            const float* l0 = lut.data();
            const float* l1 = l0 + 256;
            const float* l2 = l1 + 256;
            for (int64_t k = 0; k < plane; ++k) {
                d0[k] = l0[in[3 * k]];
                d1[k] = l1[in[3 * k + 1]];
                d2[k] = l2[in[3 * k + 2]];
            }
            return;
        }
        for (int64_t k = 0; k < plane; ++k)
            for (int c = 0; c < C; ++c) dst[c * plane + k] = lut[c * 256 + in[k * C + c]];
        return;
    }
    const T* in = m.ptr<T>(0);
    for (int64_t k = 0; k < plane; ++k)
        for (int c = 0; c < C; ++c) dst[c * plane + k] = (static_cast<float>(in[k * C + c]) - mean[c]) * inv_std[c];
}

cv::Mat lut_from(const float* values) {
    cv::Mat lut(1, 256, CV_8U);
    for (int v = 0; v < 256; ++v) {
        // numpy's clip(...).astype(uint8): clip to [0, 255], then truncate toward zero.
        float x = std::min(255.f, std::max(0.f, values[v]));
        lut.at<uint8_t>(v) = static_cast<uint8_t>(x);
    }
    return lut;
}

void adjust(cv::Mat& m, int32_t kind, double factor) {
    if (m.depth() != CV_8U) throw std::invalid_argument("adjust: colour adjustments need an 8-bit image");
    const bool grey = m.channels() == 1;
    if (!grey && m.channels() != 3) throw std::invalid_argument("adjust: colour adjustments need 1 or 3 channels");
    float table[256];
    switch (kind) {
        case FS_ADJUST_BRIGHTNESS: {
            if (factor == 1.0) return;
            if (factor == 0.0) {
                m.setTo(cv::Scalar::all(0));
                return;
            }
            for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v * factor);
            cv::LUT(m, lut_from(table), m);
            return;
        }
        case FS_ADJUST_CONTRAST: {
            if (factor == 1.0) return;
            double mean;
            if (grey) {
                mean = cv::mean(m)[0];
            } else {
                cv::Mat g;
                cv::cvtColor(m, g, cv::COLOR_RGB2GRAY);
                mean = cv::mean(g)[0];
            }
            if (factor == 0.0) {
                m.setTo(cv::Scalar::all(static_cast<int>(mean + 0.5)));
                return;
            }
            for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v * factor + mean * (1.0 - factor));
            cv::LUT(m, lut_from(table), m);
            return;
        }
        case FS_ADJUST_SATURATION: {
            if (factor == 1.0 || grey) return;
            cv::Mat g, g3;
            cv::cvtColor(m, g, cv::COLOR_RGB2GRAY);
            cv::cvtColor(g, g3, cv::COLOR_GRAY2RGB);
            if (factor == 0.0) {
                g3.copyTo(m);
                return;
            }
            cv::addWeighted(m, factor, g3, 1.0 - factor, 0.0, m);
            return;
        }
        case FS_ADJUST_HUE: {
            if (factor == 0.0 || grey) return;
            if (factor < -0.5 || factor > 0.5)
                throw std::invalid_argument("adjust: the hue shift must lie in [-0.5, 0.5], got " + std::to_string(factor));
            cv::Mat hsv;
            cv::cvtColor(m, hsv, cv::COLOR_RGB2HSV);
            cv::Mat lut(1, 256, CV_8U);
            for (int v = 0; v < 256; ++v) {
                double h = std::fmod(v + 180.0 * factor, 180.0);
                if (h < 0) h += 180.0;
                lut.at<uint8_t>(v) = static_cast<uint8_t>(h);
            }
            std::vector<cv::Mat> planes;
            cv::split(hsv, planes);
            cv::LUT(planes[0], lut, planes[0]);
            cv::merge(planes, hsv);
            cv::cvtColor(hsv, m, cv::COLOR_HSV2RGB);
            return;
        }
        default: throw std::invalid_argument("adjust: unknown adjustment " + std::to_string(kind));
    }
}

template <typename T>
void map_labels(const cv::Mat& in, const int32_t* table, int32_t len, cv::Mat& out, int64_t& invalid,
                std::vector<uint8_t>& seen) {
    // A dense table over the whole value range of T, with -1 for invalid ids.
    const size_t range = static_cast<size_t>(std::numeric_limits<T>::max()) + 1;
    std::vector<int16_t> lut(range, -1);
    for (int32_t v = 0; v < len && static_cast<size_t>(v) < range; ++v) {
        if (table[v] < -1 || table[v] > 255)
            throw std::invalid_argument("map_labels: table entry " + std::to_string(v) + " is " +
                                        std::to_string(table[v]) + ", outside [-1, 255]");
        lut[v] = static_cast<int16_t>(table[v]);
    }
    const int64_t n = static_cast<int64_t>(in.rows) * in.cols;
    const T* src = in.ptr<T>(0);
    uint8_t* dst = out.ptr<uint8_t>(0);
    for (int64_t k = 0; k < n; ++k) {
        const int16_t v = lut[src[k]];
        if (v < 0) {
            ++invalid;
            seen[src[k]] = 1;
            dst[k] = 255;
        } else {
            dst[k] = static_cast<uint8_t>(v);
        }
    }
}

}  // namespace

extern "C" {

FS_API int32_t fs_image_create(int32_t height, int32_t width, int32_t channels, int32_t depth, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        if (height < 0 || width < 0) throw std::invalid_argument("image: negative size");
        if (channels < 1 || channels > 4) throw std::invalid_argument("image: 1 to 4 channels");
        if (depth != FS_IMAGE_U8 && depth != FS_IMAGE_U16)
            throw std::invalid_argument("image: depth must be 8-bit or 16-bit unsigned");
        *out = new_image(cv::Mat(height, width, CV_MAKETYPE(depth, channels), cv::Scalar::all(0)));
    })
}

FS_API int32_t fs_image_free(fs_image image) { FS_GUARD(delete static_cast<cv::Mat*>(image)) }

FS_API int32_t fs_image_info_get(fs_image image, fs_image_info* info) {
    FS_GUARD({
        const cv::Mat& m = image_ref(image);
        info->width = m.cols;
        info->height = m.rows;
        info->channels = m.channels();
        info->depth = m.depth();
        info->nbytes = static_cast<int64_t>(m.total() * m.elemSize());
        info->data = m.data;
    })
}

FS_API int32_t fs_image_clone(fs_image image, fs_image* out) { FS_GUARD(*out = new_image(image_ref(image).clone())) }

FS_API int32_t fs_image_set_num_threads(int32_t n) {
    FS_GUARD({
        if (n < 0) throw std::invalid_argument("set_num_threads: negative thread count");
        cv::setNumThreads(n);
    })
}

FS_API int32_t fs_image_get_num_threads(int32_t* n) { FS_GUARD(*n = cv::getNumThreads()) }

FS_API int32_t fs_image_decode_file(const char* path, int32_t mode, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        if (path == nullptr) throw std::invalid_argument("decode: null path");
        *out = new_image(decode_file(path, mode));
    })
}

FS_API int32_t fs_image_decode_bytes(const void* data, int64_t nbytes, int32_t mode, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        if (nbytes < 0 || (nbytes > 0 && data == nullptr)) throw std::invalid_argument("decode: bad buffer");
        *out = new_image(decode(static_cast<const uint8_t*>(data), static_cast<size_t>(nbytes), mode, "image data"));
    })
}

FS_API int32_t fs_image_encode(fs_image image, const char* format, int32_t param, fs_buffer* buffer,
                               const void** data, int64_t* nbytes) {
    FS_GUARD({
        *buffer = nullptr;
        auto* bytes = new std::vector<uchar>(encode(image_ref(image), format ? format : "", param));
        *buffer = bytes;
        *data = bytes->data();
        *nbytes = static_cast<int64_t>(bytes->size());
    })
}

FS_API int32_t fs_buffer_free(fs_buffer buffer) { FS_GUARD(delete static_cast<std::vector<uchar>*>(buffer)) }

FS_API int32_t fs_image_write_file(fs_image image, const char* path, int32_t param) {
    FS_GUARD({
        if (path == nullptr) throw std::invalid_argument("write: null path");
        const std::string p(path);
        const size_t dot = p.find_last_of('.');
        const size_t slash = p.find_last_of('/');
        if (dot == std::string::npos || (slash != std::string::npos && slash > dot))
            throw std::invalid_argument(p + ": the file name needs an extension (.png or .jpg)");
        const std::vector<uchar> bytes = encode(image_ref(image), p.substr(dot), param);
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        if (!f) throw std::runtime_error(p + ": cannot create the file (" + std::strerror(errno) + ")");
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!f) throw std::runtime_error(p + ": write error (" + std::strerror(errno) + ")");
    })
}

FS_API int32_t fs_image_resize(fs_image image, int32_t width, int32_t height, int32_t interpolation, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        const cv::Mat& m = image_ref(image);
        if (width < 1 || height < 1)
            throw std::invalid_argument("resize: the target size must be positive, got " + std::to_string(width) + "x" +
                                        std::to_string(height));
        if (interpolation != FS_INTER_NEAREST && interpolation != FS_INTER_LINEAR && interpolation != FS_INTER_AREA)
            throw std::invalid_argument("resize: unknown interpolation " + std::to_string(interpolation));
        cv::Mat r;
        cv::resize(m, r, cv::Size(width, height), 0, 0, interpolation);
        *out = new_image(std::move(r));
    })
}

FS_API int32_t fs_image_convert_color(fs_image image, int32_t code, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        const cv::Mat& m = image_ref(image);
        int cv_code;
        switch (code) {
            case FS_COLOR_RGB2GRAY: cv_code = cv::COLOR_RGB2GRAY; break;
            case FS_COLOR_GRAY2RGB: cv_code = cv::COLOR_GRAY2RGB; break;
            case FS_COLOR_RGB2BGR: cv_code = cv::COLOR_RGB2BGR; break;
            case FS_COLOR_RGB2HSV: cv_code = cv::COLOR_RGB2HSV; break;
            case FS_COLOR_HSV2RGB: cv_code = cv::COLOR_HSV2RGB; break;
            case FS_COLOR_RGBA2RGB: cv_code = cv::COLOR_RGBA2RGB; break;
            case FS_COLOR_RGB2RGBA: cv_code = cv::COLOR_RGB2RGBA; break;
            default: throw std::invalid_argument("convert_color: unknown conversion " + std::to_string(code));
        }
        cv::Mat r;
        cv::cvtColor(m, r, cv_code);
        *out = new_image(std::move(r));
    })
}

FS_API int32_t fs_image_flip(fs_image image, int32_t code, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        if (code < -1 || code > 1) throw std::invalid_argument("flip: code must be -1, 0 or 1");
        cv::Mat r;
        cv::flip(image_ref(image), r, code);
        *out = new_image(std::move(r));
    })
}

FS_API int32_t fs_image_crop(fs_image image, int32_t x, int32_t y, int32_t width, int32_t height, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        const cv::Mat& m = image_ref(image);
        if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > m.cols || y + height > m.rows)
            throw std::invalid_argument("crop: the window " + std::to_string(width) + "x" + std::to_string(height) +
                                        " at (" + std::to_string(x) + ", " + std::to_string(y) +
                                        ") does not fit in an image of " + size_text(m));
        *out = new_image(m(cv::Rect(x, y, width, height)).clone());
    })
}

FS_API int32_t fs_image_pad(fs_image image, int32_t top, int32_t bottom, int32_t left, int32_t right, int32_t border,
                            const double* value, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        if (top < 0 || bottom < 0 || left < 0 || right < 0) throw std::invalid_argument("pad: negative padding");
        if (border != FS_BORDER_CONSTANT && border != FS_BORDER_REPLICATE && border != FS_BORDER_REFLECT &&
            border != FS_BORDER_REFLECT_101)
            throw std::invalid_argument("pad: unknown border mode " + std::to_string(border));
        cv::Mat r;
        const cv::Scalar v = value ? cv::Scalar(value[0], value[1], value[2], value[3]) : cv::Scalar::all(0);
        cv::copyMakeBorder(image_ref(image), r, top, bottom, left, right, border, v);
        *out = new_image(std::move(r));
    })
}

FS_API int32_t fs_image_warp_axes(fs_image image, const fs_axis_plan* x, const fs_axis_plan* y, int32_t interpolation,
                                  int32_t border, const double* value, fs_image* out) {
    FS_GUARD({
        *out = nullptr;
        *out = new_image(warp(image_ref(image), *x, *y, interpolation, border, value));
    })
}

FS_API int32_t fs_image_adjust(fs_image image, int32_t kind, double factor) {
    FS_GUARD(adjust(image_ref(image), kind, factor))
}

FS_API int32_t fs_image_map_labels(fs_image mask, const int32_t* table, int32_t table_len, fs_image* out,
                                   int64_t* invalid_count, int32_t* invalid_ids, int32_t capacity,
                                   int32_t* n_invalid_ids) {
    FS_GUARD({
        *out = nullptr;
        *invalid_count = 0;
        *n_invalid_ids = 0;
        const cv::Mat& m = image_ref(mask);
        if (m.channels() != 1) throw std::invalid_argument("map_labels: the mask has " + std::to_string(m.channels()) +
                                                           " channels; label masks have one");
        check_depth(m, "map_labels");
        if (table_len < 0 || (table_len > 0 && table == nullptr)) throw std::invalid_argument("map_labels: bad table");
        cv::Mat r(m.rows, m.cols, CV_8U);
        int64_t invalid = 0;
        std::vector<uint8_t> seen(m.depth() == CV_8U ? 256 : 65536, 0);
        if (m.depth() == CV_8U) map_labels<uint8_t>(m, table, table_len, r, invalid, seen);
        else map_labels<uint16_t>(m, table, table_len, r, invalid, seen);
        int32_t count = 0;
        for (size_t v = 0; v < seen.size() && invalid > 0; ++v)
            if (seen[v]) {
                if (count < capacity && invalid_ids) invalid_ids[count] = static_cast<int32_t>(v);
                ++count;
            }
        *invalid_count = invalid;
        *n_invalid_ids = count;
        *out = new_image(std::move(r));
    })
}

FS_API int32_t fs_image_histogram(fs_image image, int32_t x, int32_t y, int32_t width, int32_t height,
                                  int64_t* counts, int32_t bins) {
    FS_GUARD({
        const cv::Mat& m = image_ref(image);
        if (m.channels() != 1) throw std::invalid_argument("histogram: needs a 1-channel image");
        if (x < 0 || y < 0 || width < 0 || height < 0 || x + width > m.cols || y + height > m.rows)
            throw std::invalid_argument("histogram: the window does not fit in an image of " + size_text(m));
        std::fill(counts, counts + bins, 0);
        for (int r = y; r < y + height; ++r) {
            if (m.depth() == CV_8U) {
                const uint8_t* p = m.ptr<uint8_t>(r) + x;
                for (int k = 0; k < width; ++k)
                    if (p[k] < bins) ++counts[p[k]];
            } else {
                const uint16_t* p = m.ptr<uint16_t>(r) + x;
                for (int k = 0; k < width; ++k)
                    if (p[k] < bins) ++counts[p[k]];
            }
        }
    })
}

FS_API int32_t fs_image_to_chw_f32(fs_image image, const float* mean, const float* inv_std, float* dst, int64_t count) {
    FS_GUARD({
        const cv::Mat& m = image_ref(image);
        check_depth(m, "to_chw");
        const int64_t expected = static_cast<int64_t>(m.total()) * m.channels();
        if (count != expected)
            throw std::invalid_argument("to_chw: the destination holds " + std::to_string(count) +
                                        " floats but the image " + size_text(m) + " has " + std::to_string(expected));
        if (m.depth() == CV_8U) to_chw<uint8_t>(m, mean, inv_std, dst);
        else to_chw<uint16_t>(m, mean, inv_std, dst);
    })
}

FS_API int32_t fs_image_to_i64(fs_image image, int64_t* dst, int64_t count) {
    FS_GUARD({
        const cv::Mat& m = image_ref(image);
        if (m.channels() != 1) throw std::invalid_argument("to_i64: needs a 1-channel image");
        const int64_t n = static_cast<int64_t>(m.total());
        if (count != n)
            throw std::invalid_argument("to_i64: the destination holds " + std::to_string(count) +
                                        " values but the mask has " + std::to_string(n));
        if (m.depth() == CV_8U) {
            const uint8_t* p = m.ptr<uint8_t>(0);
            for (int64_t k = 0; k < n; ++k) dst[k] = p[k];
        } else {
            const uint16_t* p = m.ptr<uint16_t>(0);
            for (int64_t k = 0; k < n; ++k) dst[k] = p[k];
        }
    })
}

}  // extern "C"
