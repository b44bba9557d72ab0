#include "existing_fs.h"

#include <blkid/blkid.h>

#include <cerrno>
#include <memory>

#include "blockdev/uri.h"

namespace f2sc::mkfs {

Result<std::optional<std::string>> existing_signature(const std::string& path) {
  std::unique_ptr<blkid_struct_probe, decltype(&blkid_free_probe)> probe(
      blkid_new_probe_from_filename(path.c_str()), &blkid_free_probe);
  if (!probe)
    return tl::unexpected(sys_error(errno ? errno : EIO, "cannot probe " + path + " for data"));
  blkid_probe pr = probe.get();
  blkid_probe_enable_superblocks(pr, 1);
  blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
  blkid_probe_enable_partitions(pr, 1);
  blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
  const int rc = blkid_do_fullprobe(pr);
  if (rc < 0) return fail(Errc::kIoError, "probing " + path + " for an existing filesystem failed");
  if (rc == 1) return std::optional<std::string>();
  const char *type = nullptr, *usage = nullptr;
  if (blkid_probe_lookup_value(pr, "TYPE", &type, nullptr) == 0 && type) {
    (void)blkid_probe_lookup_value(pr, "USAGE", &usage, nullptr);
    const std::string u = usage ? usage : "";
    const char* what = u == "filesystem" ? "a filesystem"
                       : u == "raid"     ? "a RAID or volume manager member"
                       : u == "crypto"   ? "an encrypted volume"
                                         : "a signature";
    return std::optional<std::string>(std::string(what) + " (" + type + ")");
  }
  if (blkid_probe_lookup_value(pr, "PTTYPE", &type, nullptr) == 0 && type)
    return std::optional<std::string>(std::string("a partition table (") + type + ")");
  return std::optional<std::string>("an unknown signature");
}

std::optional<std::string> probe_path(const std::string& device_uri) {
  auto uri = blockdev::parse_device_uri(device_uri);
  if (!uri) return std::nullopt;
  if (uri->plain_path) return uri->target;
  if (uri->scheme == "file") return uri->target;
  if (uri->scheme == "nvme-emu" && uri->target.rfind("mem:", 0) != 0) return uri->target;
  return std::nullopt;
}

}  // namespace f2sc::mkfs
