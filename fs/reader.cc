#include "fs/reader.h"

#include <sys/stat.h>

#include <cstdio>
#include <utility>

#include "fs/data.h"

namespace f2sc::fs {

FileSystemReader::FileSystemReader(blockdev::BlockDevice& dev, segment::SuperBlockInfo super,
                                   segment::Checkpoint cp)
    : super_(std::move(super)), cp_(std::move(cp)), nm_(dev, super_.layout, cp_) {}

Result<std::unique_ptr<FileSystemReader>> FileSystemReader::open(blockdev::BlockDevice& dev) {
  if (dev.block_size() != segment::kBlockSize)
    return fail(Errc::kInvalidArgument, "device " + dev.name() + " has " +
                                            std::to_string(dev.block_size()) +
                                            "-byte blocks; F2FS needs 4096");
  auto sb = segment::read_superblock(dev);
  if (!sb) return fail(sb.error());
  // Features that change how names hash or how data is stored: reading such an image as
  // plain F2FS would return wrong names or bytes, so refuse it.
  constexpr std::pair<uint32_t, const char*> kUnsupported[] = {
      {0x0001, "encrypt"}, {0x1000, "casefold"}, {0x2000, "compression"}};
  for (auto [bit, name] : kUnsupported) {
    if (!(sb->sb.feature & bit)) continue;
    char hex[48];
    std::snprintf(hex, sizeof hex, " (bit 0x%x of features 0x%x)", bit, sb->sb.feature);
    return fail(Errc::kNotSupported, "superblock feature " + std::string(name) + hex +
                                         " is not supported by the reader");
  }
  auto cp = segment::read_checkpoint(dev, sb->layout);
  if (!cp) return fail(cp.error());
  return std::unique_ptr<FileSystemReader>(
      new FileSystemReader(dev, std::move(*sb), std::move(*cp)));
}

Result<InodeView> FileSystemReader::inode(uint32_t ino) const {
  auto info = nm_.node_info(ino);
  if (!info) {
    if (info.error().code == Errc::kOutOfRange)
      return fail(Errc::kNotFound, ENOENT, "no inode " + std::to_string(ino));
    return fail(info.error());
  }
  if (info->blk_addr == segment::kNullAddr)
    return fail(Errc::kNotFound, ENOENT, "no inode " + std::to_string(ino));
  if (info->ino != ino)  // a live nid, but of another inode's direct/indirect/xattr node
    return fail(Errc::kNotFound, ENOENT,
                "no inode " + std::to_string(ino) + ": the nid is a node of inode " +
                    std::to_string(info->ino));
  auto node = nm_.read_node(ino, ino, 0);
  if (!node) return fail(node.error());
  return parse_inode(*node, ino, super_.sb.feature);
}

Result<InodeAttr> FileSystemReader::getattr(uint32_t ino) const {
  auto v = inode(ino);
  if (!v) return fail(v.error());
  return v->attr;
}

Result<DirEntryInfo> FileSystemReader::lookup_entry(uint32_t dir_ino, std::string_view name) const {
  if (name.size() > kMaxNameLen)
    return fail(Errc::kInvalidArgument, ENAMETOOLONG,
                "name of " + std::to_string(name.size()) + " bytes is above 255");
  auto dir = inode(dir_ino);
  if (!dir) return fail(dir.error());
  auto e = find_entry(nm_, *dir, name);
  if (!e) return fail(e.error());
  if (!*e)
    return fail(
        Errc::kNotFound, ENOENT,
        "no entry '" + std::string(name) + "' in directory inode " + std::to_string(dir_ino));
  return std::move(**e);
}

Result<uint32_t> FileSystemReader::lookup(uint32_t dir_ino, std::string_view name) const {
  auto e = lookup_entry(dir_ino, name);
  if (!e) return fail(e.error());
  return e->ino;
}

Result<size_t> FileSystemReader::read(uint32_t ino, uint64_t offset,
                                      std::span<std::byte> buf) const {
  auto v = inode(ino);
  if (!v) return fail(v.error());
  if (v->is_dir())
    return fail(Errc::kInvalidArgument, EISDIR, "inode " + std::to_string(ino) + " is a directory");
  if (!v->is_reg() && !v->is_symlink())
    return fail(Errc::kInvalidArgument, EINVAL,
                "inode " + std::to_string(ino) + " is a special file without data");
  return read_data(nm_, *v, offset, buf);
}

Result<std::vector<DirEntryInfo>> FileSystemReader::readdir(uint32_t dir_ino) const {
  auto dir = inode(dir_ino);
  if (!dir) return fail(dir.error());
  return list_entries(nm_, *dir);
}

Result<std::string> FileSystemReader::readlink(uint32_t ino) const {
  auto v = inode(ino);
  if (!v) return fail(v.error());
  if (!v->is_symlink())
    return fail(Errc::kInvalidArgument, EINVAL,
                "inode " + std::to_string(ino) + " is not a symlink");
  if (v->attr.size == 0 || v->attr.size > segment::kBlockSize)
    return fail(Errc::kCorrupt, "symlink inode " + std::to_string(ino) + ": i_size = " +
                                    std::to_string(v->attr.size) + " not in 1..4096");
  std::string target(v->attr.size, '\0');
  auto n = read_data(nm_, *v, 0, std::as_writable_bytes(std::span(target)));
  if (!n) return fail(n.error());
  return target;
}

Result<uint32_t> FileSystemReader::resolve(std::string_view path) const {
  uint32_t ino = root_ino();
  while (!path.empty()) {
    const size_t slash = path.find('/');
    std::string_view name = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (name.empty()) continue;
    auto next = lookup(ino, name);
    if (!next) return fail(next.error());
    ino = *next;
  }
  return ino;
}

}  // namespace f2sc::fs
