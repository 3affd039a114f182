// onednn_network runs a float network layer by layer with oneDNN primitives:
// the baseline `tide bench NET --vs onednn` times Tide's networks against.
// It is a fixed program: ../onednn_network.go translates a network into
// the list of layers it reads (one per line) and the weights it reads (one
// file of float32, already folded: batch norm into the convolution weights
// and biases), so this file only knows oneDNN.
//
//   onednn_network LAYERS WEIGHTS INPUT OUTPUT IMPLS REPEAT
//
// A line is a kind and key=value fields; tensors are named, dims are
// oneDNN's logical N,C,H,W (or N,C), offsets count floats in WEIGHTS:
//   input   name dims
//   conv    name src oc k=KH,KW stride=SH,SW pad=T,L,B,R w b [post=sum:ADDEND,relu]
//   bn      name src scale shift [relu=1]      (x * scale + shift per channel)
//   pool    name src alg=max|avg k stride pad
//   dense   name src oc w b
//   softmax name src
//   concat  name parts=A,B,...                  (along channels)
//   add     name a b [relu=1]
//   relu    name src
//   output  src dims tag=nc|nhwc
// Weights are user layouts: conv hwio (H,W,I,O), dense oi (rows of K).
//
// oneDNN chooses the layouts it computes in (format any); the weights are
// reordered once before the timed calls, as constant weights are in
// inference. A convolution with a sum post-op writes into its addend's
// memory when the layouts agree (the translator checked the addend is dead
// after it); the parts of a concatenation are written into their slices of
// the whole by their convolutions: channel blocks (contiguous per part for
// batch 1) in a blocked layout, strided slices in NHWC when oneDNN has a
// fast kernel for them (a convolution into a strided sub-memory may fall
// back to a reference kernel, 250x slower), because copying the parts
// (oneDNN's concat primitive, the fallback) cost 13-28% of SqueezeNet. A timed call reorders the
// NHWC input into the first layer's layout, executes every primitive and
// reorders the output back: what using oneDNN on Tide's data costs.
//
// It prints one time per timed call, in nanoseconds, and writes each
// primitive's implementation to IMPLS, so that a reference (slow) kernel is
// caught, not reported as oneDNN's speed.
#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct Layer {
    int line;
    std::string kind, name;
    std::map<std::string, std::string> field;

    const std::string &get(const std::string &key) const {
        auto it = field.find(key);
        if (it == field.end()) throw std::runtime_error("line " + std::to_string(line) + ": " + kind + " " + name + " has no " + key + "=");
        return it->second;
    }
    bool has(const std::string &key) const { return field.count(key) > 0; }
};

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep)) out.push_back(item);
    return out;
}

memory::dims ints(const std::string &s) {
    memory::dims out;
    for (auto &f : split(s, ',')) out.push_back(std::stol(f));
    return out;
}

std::vector<Layer> readLayers(const char *path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(std::string("cannot read ") + path);
    std::vector<Layer> out;
    std::string text;
    for (int n = 1; std::getline(in, text); n++) {
        std::stringstream ss(text);
        Layer l{n};
        if (!(ss >> l.kind)) continue;
        if (l.kind != "output" && !(ss >> l.name)) throw std::runtime_error("line " + std::to_string(n) + ": no name");
        std::string kv;
        while (ss >> kv) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) throw std::runtime_error("line " + std::to_string(n) + ": " + kv + " is not key=value");
            l.field[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        out.push_back(l);
    }
    return out;
}

std::vector<float> readFloats(const char *path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw std::runtime_error(std::string("cannot read ") + path);
    std::vector<float> out(in.tellg() / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char *>(out.data()), out.size() * sizeof(float));
    return out;
}

struct Network {
    engine eng{engine::kind::cpu, 0};
    stream strm{eng};
    std::vector<float> weights;
    std::map<std::string, memory> tensors;
    std::vector<std::pair<primitive, std::unordered_map<int, memory>>> steps;
    std::ofstream impls;

    // concatenations made in place: each part's concat and channel offset
    struct Part { std::string whole; long offset; };
    std::map<std::string, Part> parts;
    std::map<std::string, memory::dims> wholeDims;
    std::map<std::string, tag> wholeTag; // the layout chosen, once known
    std::set<std::string> wholeFailed;   // concatenated by oneDNN's concat

    const float *at(const Layer &l, const std::string &key, size_t count) {
        long off = std::stol(l.get(key));
        if (off < 0 || off + count > weights.size()) throw std::runtime_error(l.name + ": " + key + " is outside the weights file");
        return weights.data() + off;
    }

    memory &tensor(const Layer &l, const std::string &key) {
        auto it = tensors.find(l.get(key));
        if (it == tensors.end()) throw std::runtime_error(l.name + ": " + key + "=" + l.get(key) + " is not defined before it");
        return it->second;
    }

    void record(const std::string &name, const std::string &impl) { impls << name << " " << impl << "\n"; }

    // constant copies user data (a weight in a user layout) into memory of
    // the layout a primitive chose, once, untimed.
    memory constant(const memory::desc &want, const memory::desc &user, const float *data) {
        memory u(user, eng, const_cast<float *>(data)), m(want, eng);
        reorder(u, m).execute(strm, u, m);
        strm.wait();
        return m;
    }

    // as gives src in layout want: itself, or a reorder at each call.
    memory as(const memory &src, const memory::desc &want, const std::string &name) {
        if (src.get_desc() == want) return src;
        memory m(want, eng);
        reorder::primitive_desc pd(eng, src.get_desc(), eng, want);
        record(name + "/reorder", pd.impl_info_str());
        steps.push_back({reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, m}}});
        return m;
    }

    // blockTag is the channel-blocked tag md is in, or undef.
    static tag blockTag(const memory::desc &md) {
        for (tag t : {tag::nChw16c, tag::nChw8c, tag::nChw4c})
            if (md == memory::desc(md.dims(), dt::f32, t)) return t;
        return tag::undef;
    }
    static long blockOf(tag t) { return t == tag::nChw16c ? 16 : t == tag::nChw8c ? 8 : 4; }

    // inPlace writes a concatenation part into its slice of the whole,
    // replacing pd (made by make for a dst desc) when the whole's layout
    // asks for another; an undefined memory when the part is not written in
    // place. The first part chooses: channel blocks when its convolution
    // chose a blocked layout and every part starts on a block (contiguous
    // for batch 1), else a strided slice of NHWC when its convolution
    // accepts one without falling back to a reference kernel, else
    // oneDNN's concat primitive copies the parts. (Asking a convolution
    // that chose NHWC for blocks instead made SqueezeNet slower: 17.1 ms
    // against 14.0 with the copies, AVX-512, brgconv.)
    template <class PD, class Make>
    memory inPlace(const std::string &name, PD &pd, Make make) {
        auto p = parts.find(name);
        if (p == parts.end() || wholeFailed.count(p->second.whole)) return memory();
        const std::string &whole = p->second.whole;
        memory::dims wd = wholeDims[whole], dd = pd.dst_desc().dims();
        long off = p->second.offset;
        if (!tensors.count(whole)) {
            tag t = blockTag(pd.dst_desc());
            bool blocks = t != tag::undef && wd[0] == 1;
            for (auto &q : parts)
                if (q.second.whole == whole && blocks && q.second.offset % blockOf(t) != 0) blocks = false;
            if (blocks) {
                wholeTag[whole] = t;
            } else if (pd.dst_desc() == memory::desc(dd, dt::f32, tag::nhwc)) {
                wholeTag[whole] = tag::nhwc;
            } else {
                record(whole + "/parts", "copied");  // neither channel blocks nor NHWC
                wholeFailed.insert(whole);
                return memory();
            }
            tensors[whole] = memory(memory::desc(wd, dt::f32, wholeTag[whole]), eng);
        }
        tag t = wholeTag[whole];
        float *base = static_cast<float *>(tensors[whole].get_data_handle());
        if (t != tag::nhwc) {
            if (blockTag(pd.dst_desc()) != t) pd = make(memory::desc(dd, dt::f32, t));
            return memory(pd.dst_desc(), eng, base + off * dd[2] * dd[3]);
        }
        memory::desc slice = tensors[whole].get_desc().submemory_desc(dd, {0, off, 0, 0});
        PD strided = make(slice);
        std::string impl = strided.impl_info_str();
        if (impl.find("ref") != std::string::npos) {
            if (off == 0) { // the first part: give the whole up
                record(whole + "/parts", "copied");  // an NHWC slice would run a reference kernel
                tensors.erase(whole);
                wholeFailed.insert(whole);
                return memory();
            }
            throw std::runtime_error(name + ": a convolution into a slice of the concatenation runs " + impl);
        }
        pd = strided;
        return memory(slice, eng, base);
    }

    void conv(const Layer &l) {
        memory &src = tensor(l, "src");
        memory::dims sd = src.get_desc().dims(), k = ints(l.get("k")), s = ints(l.get("stride")), pad = ints(l.get("pad"));
        long oc = std::stol(l.get("oc")), ic = sd[1];
        memory::dims dd = {sd[0], oc, (sd[2] + pad[0] + pad[2] - k[0]) / s[0] + 1, (sd[3] + pad[1] + pad[3] - k[1]) / s[1] + 1};
        memory::dims wd = {oc, ic, k[0], k[1]};
        post_ops po;
        std::string addend;
        if (l.has("post"))
            for (auto &op : split(l.get("post"), ',')) {
                if (op == "relu") po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
                else if (op.rfind("sum:", 0) == 0) { po.append_sum(1.f); addend = op.substr(4); }
                else throw std::runtime_error(l.name + ": post-op " + op + "; want relu or sum:TENSOR");
            }
        primitive_attr attr;
        attr.set_post_ops(po);
        // the source as it is when a fast kernel takes it (no reorder), else
        // in the layout oneDNN prefers
        auto make = [&](const memory::desc &dst) {
            auto with = [&](const memory::desc &srcMd) {
                auto d = convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct,
                    srcMd, memory::desc(wd, dt::f32, tag::any), memory::desc({oc}, dt::f32, tag::a), dst,
                    s, {pad[0], pad[1]}, {pad[2], pad[3]});
                return convolution_forward::primitive_desc(d, attr, eng);
            };
            auto pd = with(src.get_desc());
            if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) pd = with(memory::desc(sd, dt::f32, tag::any));
            return pd;
        };
        auto pd = make(memory::desc(dd, dt::f32, tag::any));
        memory dst = inPlace(l.name, pd, make);
        record(l.name, pd.impl_info_str());
        memory w = constant(pd.weights_desc(), memory::desc(wd, dt::f32, tag::hwio), at(l, "w", oc * ic * k[0] * k[1]));
        memory b = constant(pd.bias_desc(), memory::desc({oc}, dt::f32, tag::a), at(l, "b", oc));
        memory in = as(src, pd.src_desc(), l.name + "/src");
        if (!addend.empty()) {
            auto it = tensors.find(addend);
            if (it == tensors.end()) throw std::runtime_error(l.name + ": the sum's addend " + addend + " is not defined before it");
            if (dst) throw std::runtime_error(l.name + ": a concatenation part with a sum post-op");
            if (it->second.get_desc() == pd.dst_desc() && l.has("inplace")) {
                dst = it->second; // the addend is dead after this layer
            } else {
                dst = memory(pd.dst_desc(), eng);
                record(l.name + "/addend", "copied (layouts differ or the addend lives on)");
                steps.push_back({reorder(it->second, dst), {{DNNL_ARG_FROM, it->second}, {DNNL_ARG_TO, dst}}});
            }
        }
        if (!dst) dst = memory(pd.dst_desc(), eng);
        steps.push_back({convolution_forward(pd), {{DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}}});
        tensors[l.name] = dst;
    }

    void bn(const Layer &l) {
        memory &src = tensor(l, "src");
        memory::desc md = src.get_desc();
        long c = md.dims()[1];
        auto flags = normalization_flags::use_global_stats | normalization_flags::use_scale | normalization_flags::use_shift;
        if (l.has("relu")) flags = flags | normalization_flags::fuse_norm_relu;
        // x * scale + shift as batch norm with mean 0, variance 1 and eps 0
        auto d = batch_normalization_forward::desc(prop_kind::forward_inference, md, 0.f, flags);
        batch_normalization_forward::primitive_desc pd(d, eng);
        record(l.name, pd.impl_info_str());
        memory::desc vec({c}, dt::f32, tag::a);
        std::vector<float> zeros(c, 0.f), ones(c, 1.f);
        memory mean = constant(vec, vec, zeros.data()), var = constant(vec, vec, ones.data());
        memory scale = constant(vec, vec, at(l, "scale", c)), shift = constant(vec, vec, at(l, "shift", c));
        memory dst(pd.dst_desc(), eng);
        std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_MEAN, mean},
            {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_SCALE, scale}, {DNNL_ARG_SHIFT, shift}};
        if (l.has("relu")) args[DNNL_ARG_WORKSPACE] = memory(pd.workspace_desc(), eng);
        steps.push_back({batch_normalization_forward(pd), args});
        tensors[l.name] = dst;
    }

    void pool(const Layer &l) {
        memory &src = tensor(l, "src");
        memory::dims sd = src.get_desc().dims(), k = ints(l.get("k")), s = ints(l.get("stride")), pad = ints(l.get("pad"));
        memory::dims dd = {sd[0], sd[1], (sd[2] + pad[0] + pad[2] - k[0]) / s[0] + 1, (sd[3] + pad[1] + pad[3] - k[1]) / s[1] + 1};
        algorithm alg = l.get("alg") == "max" ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
        auto d = pooling_forward::desc(prop_kind::forward_inference, alg, src.get_desc(), memory::desc(dd, dt::f32, tag::any),
            s, k, {pad[0], pad[1]}, {pad[2], pad[3]});
        pooling_forward::primitive_desc pd(d, eng);
        record(l.name, pd.impl_info_str());
        memory dst(pd.dst_desc(), eng);
        steps.push_back({pooling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}});
        tensors[l.name] = dst;
    }

    void dense(const Layer &l) {
        memory &src = tensor(l, "src");
        memory::dims sd = src.get_desc().dims();
        long oc = std::stol(l.get("oc"));
        long k = 1;
        for (size_t i = 1; i < sd.size(); i++) k *= sd[i];
        // the weights' dims follow the source's: {O, C, H, W} for a 4-D one
        memory::dims wd = sd, dd = {sd[0], oc};
        wd[0] = oc;
        tag user = sd.size() == 4 ? tag::oihw : tag::oi;
        auto d = inner_product_forward::desc(prop_kind::forward_inference, memory::desc(sd, dt::f32, tag::any),
            memory::desc(wd, dt::f32, tag::any), memory::desc({oc}, dt::f32, tag::a), memory::desc(dd, dt::f32, tag::any));
        inner_product_forward::primitive_desc pd(d, eng);
        record(l.name, pd.impl_info_str());
        memory w = constant(pd.weights_desc(), memory::desc(wd, dt::f32, user), at(l, "w", oc * k));
        memory b = constant(pd.bias_desc(), memory::desc({oc}, dt::f32, tag::a), at(l, "b", oc));
        memory in = as(src, pd.src_desc(), l.name + "/src");
        memory dst(pd.dst_desc(), eng);
        steps.push_back({inner_product_forward(pd), {{DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}}});
        tensors[l.name] = dst;
    }

    void softmax(const Layer &l) {
        memory &src = tensor(l, "src");
        auto d = softmax_forward::desc(prop_kind::forward_inference, src.get_desc(), 1);
        softmax_forward::primitive_desc pd(d, eng);
        record(l.name, pd.impl_info_str());
        memory dst(pd.dst_desc(), eng);
        steps.push_back({softmax_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}});
        tensors[l.name] = dst;
    }

    void concat(const Layer &l) {
        if (tensors.count(l.name)) {
            record(l.name, "in-place");
            return;
        }
        std::vector<memory::desc> mds;
        std::unordered_map<int, memory> args;
        for (auto &p : split(l.get("parts"), ',')) {
            auto it = tensors.find(p);
            if (it == tensors.end()) throw std::runtime_error(l.name + ": part " + p + " is not defined before it");
            args[DNNL_ARG_MULTIPLE_SRC + (int)mds.size()] = it->second;
            mds.push_back(it->second.get_desc());
        }
        concat::primitive_desc pd(1, mds, eng);
        record(l.name, pd.impl_info_str());
        memory dst(pd.dst_desc(), eng);
        args[DNNL_ARG_DST] = dst;
        steps.push_back({dnnl::concat(pd), args});
        tensors[l.name] = dst;
    }

    void add(const Layer &l) {
        memory &a = tensor(l, "a"), &b = tensor(l, "b");
        primitive_attr attr;
        if (l.has("relu")) {
            post_ops po;
            po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
            attr.set_post_ops(po);
        }
        auto d = binary::desc(algorithm::binary_add, a.get_desc(), b.get_desc(), memory::desc(a.get_desc().dims(), dt::f32, tag::any));
        binary::primitive_desc pd(d, attr, eng);
        record(l.name, pd.impl_info_str());
        memory dst(pd.dst_desc(), eng);
        steps.push_back({binary(pd), {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}}});
        tensors[l.name] = dst;
    }

    void relu(const Layer &l) {
        memory &src = tensor(l, "src");
        auto d = eltwise_forward::desc(prop_kind::forward_inference, algorithm::eltwise_relu, src.get_desc(), 0.f, 0.f);
        eltwise_forward::primitive_desc pd(d, eng);
        record(l.name, pd.impl_info_str());
        memory dst(pd.dst_desc(), eng);
        steps.push_back({eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}});
        tensors[l.name] = dst;
    }
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s LAYERS WEIGHTS INPUT OUTPUT IMPLS REPEAT\n", argv[0]);
        return 2;
    }
    try {
        Network net;
        std::vector<Layer> layers = readLayers(argv[1]);
        net.weights = readFloats(argv[2]);
        net.impls.open(argv[5]);
        std::vector<float> input = readFloats(argv[3]);
        std::vector<float> output;
        memory user_in, user_out;
        for (auto &l : layers)
            if (l.kind == "concat") {
                long off = 0;
                for (auto &p : split(l.get("parts"), ',')) {
                    net.parts[p] = {l.name, off};
                    auto it = std::find_if(layers.begin(), layers.end(), [&](const Layer &x) { return x.name == p; });
                    if (it == layers.end() || it->kind != "conv") { off = -1; break; }
                    off += std::stol(it->get("oc"));
                }
                memory::dims d = ints(l.get("dims"));
                net.wholeDims[l.name] = d;
                if (off != d[1]) // a part that is not a convolution: concat primitive
                    for (auto &p : split(l.get("parts"), ',')) net.parts.erase(p);
            }
        for (auto &l : layers) {
            if (l.kind == "input") {
                memory::dims d = ints(l.get("dims"));
                size_t n = 1;
                for (auto x : d) n *= x;
                if (input.size() != n) throw std::runtime_error("the input file holds " + std::to_string(input.size()) + " floats; " + l.name + " has " + std::to_string(n));
                user_in = memory(memory::desc(d, dt::f32, tag::nhwc), net.eng, input.data());
                net.tensors[l.name] = user_in;
            } else if (l.kind == "conv") net.conv(l);
            else if (l.kind == "bn") net.bn(l);
            else if (l.kind == "pool") net.pool(l);
            else if (l.kind == "dense") net.dense(l);
            else if (l.kind == "softmax") net.softmax(l);
            else if (l.kind == "concat") net.concat(l);
            else if (l.kind == "add") net.add(l);
            else if (l.kind == "relu") net.relu(l);
            else if (l.kind == "output") {
                memory &src = net.tensor(l, "src");
                memory::dims d = ints(l.get("dims"));
                size_t n = 1;
                for (auto x : d) n *= x;
                output.assign(n, 0.f);
                user_out = memory(memory::desc(d, dt::f32, l.get("tag") == "nhwc" ? tag::nhwc : tag::nc), net.eng, output.data());
                net.steps.push_back({reorder(src, user_out), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, user_out}}});
            } else throw std::runtime_error("line " + std::to_string(l.line) + ": unknown layer kind " + l.kind);
        }
        if (!user_out) throw std::runtime_error("no output line");
        net.impls.close();
        auto call = [&] {
            for (auto &s : net.steps) s.first.execute(net.strm, s.second);
            net.strm.wait();
        };
        call(); // warm-up
        int repeat = std::atoi(argv[6]);
        for (int r = 0; r < repeat; r++) {
            auto t0 = std::chrono::steady_clock::now();
            call();
            auto t1 = std::chrono::steady_clock::now();
            std::printf("%lld\n", (long long)std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        }
        std::ofstream out(argv[4], std::ios::binary);
        out.write(reinterpret_cast<const char *>(output.data()), output.size() * sizeof(float));
        if (!out) throw std::runtime_error(std::string("cannot write ") + argv[4]);
    } catch (const dnnl::error &e) {
        std::fprintf(stderr, "oneDNN: %s (status %d)\n", e.what(), (int)e.status);
        return 2;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    return 0;
}
