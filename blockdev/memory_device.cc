#include "blockdev/memory_device.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace f2sc::blockdev {

Result<std::unique_ptr<MemoryDevice>> MemoryDevice::create(const MemoryDeviceOptions& o) {
  if (o.block_size < 512 || (o.block_size & (o.block_size - 1)) != 0) {
    return fail(Errc::kInvalidArgument, "memory device block size " + std::to_string(o.block_size) +
                                            " is not a power of two >= 512");
  }
  if (o.block_count == 0) return fail(Errc::kInvalidArgument, "memory device of zero blocks");
  if (o.block_count > SIZE_MAX / o.block_size) {
    return fail(Errc::kInvalidArgument, "memory device size overflows the address space");
  }
  const size_t bytes = o.block_count * o.block_size;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return tl::unexpected(sys_error(errno, "mmap of the memory device"));
  return std::unique_ptr<MemoryDevice>(new MemoryDevice(o, static_cast<std::byte*>(p), bytes));
}

MemoryDevice::MemoryDevice(const MemoryDeviceOptions& o, std::byte* data, size_t bytes)
    : BlockDevice(o.name, o.block_size, o.block_count, o.copy_offload_supported, o.hw_copy_limits),
      data_(data),
      bytes_(bytes) {
  start_workers(o.workers);
}

MemoryDevice::~MemoryDevice() {
  stop_workers();
  munmap(data_, bytes_);
}

Status MemoryDevice::do_read(uint64_t lba, std::span<std::byte> buf) {
  std::memcpy(buf.data(), at(lba), buf.size());
  return {};
}

Status MemoryDevice::do_write(uint64_t lba, std::span<const std::byte> buf) {
  std::memcpy(at(lba), buf.data(), buf.size());
  return {};
}

Status MemoryDevice::do_flush() {
  return {};
}

Status MemoryDevice::do_discard(uint64_t lba, uint64_t blocks) {
  // Give whole pages back to the kernel (they read as zeros); zero the edges by hand.
  std::byte* begin = at(lba);
  std::byte* end = at(lba + blocks);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  auto* first_page =
      reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(begin) + page - 1) & ~(page - 1));
  auto* last_page = reinterpret_cast<std::byte*>(reinterpret_cast<uintptr_t>(end) & ~(page - 1));
  if (first_page < last_page &&
      madvise(first_page, static_cast<size_t>(last_page - first_page), MADV_DONTNEED) == 0) {
    std::memset(begin, 0, static_cast<size_t>(first_page - begin));
    std::memset(last_page, 0, static_cast<size_t>(end - last_page));
  } else {
    std::memset(begin, 0, static_cast<size_t>(end - begin));
  }
  return {};
}

CopyCommandResult MemoryDevice::do_copy(const CopyCommand& command) {
  uint64_t dst = command.dst;
  for (const CopyRange& r : command.sources) {
    std::memmove(at(dst), at(r.lba), r.blocks * block_size());
    dst += r.blocks;
  }
  return {{}, static_cast<uint32_t>(command.sources.size())};
}

}  // namespace f2sc::blockdev
