// Extended attributes of inodes: the region is the inline xattr area followed by the xattr
// node's payload (fs/xattr.h has the format); the xattr node is made when the inline area
// overflows and kept afterwards, as Linux does.
#include <cstring>

#include "fs/fs_impl.h"
#include "fs/xattr.h"

namespace f2sc::fs {

namespace {

// Node offset Linux gives the xattr node (XATTR_NODE_OFFSET: every offset bit set).
constexpr uint32_t kXattrNodeOffset = 0xFFFFFFFFu >> 3;

struct Region {
  std::vector<uint8_t> bytes;
  uint32_t inline_bytes = 0;
};

}  // namespace

namespace {

Result<Region> load_region(FileSystem::Impl& fs, uint32_t ino) {
  auto v = fs.view(ino);
  if (!v) return fail(v.error());
  Region r;
  r.inline_bytes = v->inline_xattr_slots * 4;
  r.bytes.assign(r.inline_bytes + kXattrNodePayload, 0);
  if (r.inline_bytes)
    std::memcpy(r.bytes.data(), &v->node.i.i_addr[segment::kAddrsPerInode - v->inline_xattr_slots],
                r.inline_bytes);
  if (v->attr.xattr_nid) {
    auto n = fs.nodes_->get(v->attr.xattr_nid, ino, kXattrNodeOffset);
    if (!n) return fail(n.error());
    std::memcpy(r.bytes.data() + r.inline_bytes, *n, kXattrNodePayload);
  }
  return r;
}

Result<std::vector<Xattr>> load(FileSystem::Impl& fs, uint32_t ino) {
  auto r = load_region(fs, ino);
  if (!r) return fail(r.error());
  auto x = parse_xattrs(r->bytes);
  if (!x) return fail(with_context(x.error(), "xattrs of inode " + std::to_string(ino)));
  return x;
}

Status store(FileSystem::Impl& fs, uint32_t ino, const std::vector<Xattr>& xattrs) {
  auto v = fs.view(ino);
  if (!v) return fail(v.error());
  const uint32_t inline_bytes = v->inline_xattr_slots * 4;
  auto bytes = encode_xattrs(xattrs, inline_bytes + kXattrNodePayload);
  if (!bytes) return fail(bytes.error());
  bool need_node = false;
  for (size_t k = inline_bytes; k < bytes->size() && !need_node; ++k) need_node = (*bytes)[k] != 0;
  uint32_t xnid = v->attr.xattr_nid;
  if (need_node && xnid == 0) {
    if (auto s = fs.reserve_locked(1); !s) return s;
    auto nid = fs.nodes_->alloc_nid();
    if (!nid) return fail(nid.error());
    auto n = fs.nodes_->create(*nid, ino, kXattrNodeOffset, v->is_dir());
    if (!n) return fail(n.error());
    ++fs.valid_nodes_;
    xnid = *nid;
    auto in = fs.inode_node(ino);
    if (!in) return fail(in.error());
    (*in)->i.i_xattr_nid = xnid;
    ++(*in)->i.i_blocks;
  }
  auto in = fs.inode_node(ino);
  if (!in) return fail(in.error());
  if (inline_bytes)
    std::memcpy(&(*in)->i.i_addr[segment::kAddrsPerInode - v->inline_xattr_slots], bytes->data(),
                inline_bytes);
  const Timespec t = fs.now();
  (*in)->i.i_ctime = static_cast<uint64_t>(t.sec);
  (*in)->i.i_ctime_nsec = t.nsec;
  fs.nodes_->mark_dirty(ino);
  if (xnid) {
    auto n = fs.nodes_->get(xnid, ino, kXattrNodeOffset);
    if (!n) return fail(n.error());
    std::memcpy(*n, bytes->data() + inline_bytes, kXattrNodePayload);
    fs.nodes_->mark_dirty(xnid);
  }
  return {};
}

}  // namespace

Result<std::vector<uint8_t>> FileSystem::Impl::getxattr_locked(uint32_t ino,
                                                               std::string_view name) {
  auto x = load(*this, ino);
  if (!x) return fail(x.error());
  return get_xattr(*x, name);
}

Status FileSystem::Impl::setxattr_locked(uint32_t ino, std::string_view name,
                                         std::span<const uint8_t> value, int flags) {
  auto x = load(*this, ino);
  if (!x) return fail(x.error());
  if (auto s = set_xattr(*x, name, value, flags); !s) return s;
  return store(*this, ino, *x);
}

Result<std::vector<std::string>> FileSystem::Impl::listxattr_locked(uint32_t ino) {
  auto x = load(*this, ino);
  if (!x) return fail(x.error());
  return list_xattrs(*x);
}

Status FileSystem::Impl::removexattr_locked(uint32_t ino, std::string_view name) {
  auto x = load(*this, ino);
  if (!x) return fail(x.error());
  if (auto s = remove_xattr(*x, name); !s) return s;
  return store(*this, ino, *x);
}

Status FileSystem::Impl::free_xattrs(uint32_t ino) {
  auto in = inode_node(ino);
  if (!in) return fail(in.error());
  const uint32_t xnid = (*in)->i.i_xattr_nid;
  if (xnid == 0) return {};
  if (auto s = nodes_->remove(xnid); !s) return s;
  --valid_nodes_;
  auto again = inode_node(ino);
  if (!again) return fail(again.error());
  (*again)->i.i_xattr_nid = 0;
  --(*again)->i.i_blocks;
  nodes_->mark_dirty(ino);
  return {};
}

}  // namespace f2sc::fs
