#include "tools/f2sc-ctl/render.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace f2sc::ctl {

namespace {

using nlohmann::json;

std::string text(const char* s, size_t n) {
  return std::string(s, strnlen(s, n));
}

std::string on_off(bool b) {
  return b ? "on" : "off";
}

std::string policy_name(const ioctl::Status& st) {
  const std::string p = text(st.gc_policy, sizeof st.gc_policy);
  return p.empty() ? "default (greedy foreground, cost-benefit background)" : p;
}

json limits_json(const ioctl::CopyLimits& l) {
  return {{"max_copy_sectors", l.max_copy_sectors},
          {"max_copy_nr_ranges", l.max_copy_nr_ranges},
          {"max_copy_range_sectors", l.max_copy_range_sectors}};
}

// Rows of "name  value" under a heading.
class Table {
 public:
  void heading(const std::string& h) {
    if (!out_.empty()) out_ += "\n";
    out_ += h + "\n";
  }
  void row(const std::string& name, const std::string& value) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-28s %s\n", name.c_str(), value.c_str());
    out_ += line;
  }
  void row(const std::string& name, uint64_t v) { row(name, std::to_string(v)); }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

std::string mib(uint64_t bytes) {
  char b[64];
  std::snprintf(b, sizeof b, "%" PRIu64 " (%.1f MiB)", bytes, bytes / 1048576.0);
  return b;
}

}  // namespace

json status_json(const ioctl::Status& st) {
  const auto& g = st.gc;
  const auto& d = st.device_stats;
  const auto& k = st.knobs;
  const auto& s = st.space;
  json j;
  j["mount"] = {{"read_only", bool(st.flags & ioctl::kStatusReadOnly)},
                {"shut_down", bool(st.flags & ioctl::kStatusShutDown)}};
  j["device"] = {
      {"name", text(st.device, sizeof st.device)},
      {"block_size", st.block_size},
      {"block_count", st.block_count},
      {"copy_offload", bool(st.flags & ioctl::kStatusCopyOffload)},
      {"copy_offload_supported", bool(st.flags & ioctl::kStatusCopyOffloadSupported)},
      {"offload_enabled", bool(st.flags & ioctl::kStatusOffloadEnabled)},
      {"limits",
       {{"hardware", limits_json(st.hw_limits)}, {"current", limits_json(st.current_limits)}}},
      {"stats",
       {{"bytes_read", d.bytes_read},
        {"bytes_written", d.bytes_written},
        {"copy_descriptor_bytes", d.copy_descriptor_bytes},
        {"host_bytes", d.bytes_read + d.bytes_written + d.copy_descriptor_bytes},
        {"read_commands", d.read_commands},
        {"write_commands", d.write_commands},
        {"flush_commands", d.flush_commands},
        {"discard_commands", d.discard_commands},
        {"copy_commands", d.copy_commands},
        {"copy_ranges", d.copy_ranges},
        {"blocks_copied_in_device", d.blocks_copied_in_device},
        {"failed_commands", d.failed_commands}}}};
  j["gc"] = {{"policy", text(st.gc_policy, sizeof st.gc_policy)},
             {"background", bool(st.flags & ioctl::kStatusBackgroundGc)},
             {"urgent", bool(st.flags & ioctl::kStatusGcUrgent)},
             {"knobs",
              {{"min_sleep_ms", k.min_sleep_ms},
               {"max_sleep_ms", k.max_sleep_ms},
               {"no_gc_sleep_ms", k.no_gc_sleep_ms},
               {"urgent_sleep_ms", k.urgent_sleep_ms},
               {"foreground_margin_sections", k.foreground_margin_sections},
               {"background_sections", k.background_sections},
               {"checkpoint_after_collect", bool(k.checkpoint_after_collect)},
               {"max_in_flight", k.max_in_flight},
               {"offload_fault_limit", k.offload_fault_limit},
               {"checkpoint_interval_sec", k.checkpoint_interval_sec},
               {"dirty_node_limit", k.dirty_node_limit}}},
             {"stats",
              {{"collections", g.collections},
               {"victims", g.victims},
               {"victims_freed", g.victims_freed},
               {"blocks_scanned", g.blocks_scanned},
               {"blocks_dead", g.blocks_dead},
               {"data_blocks_moved", g.data_blocks_moved},
               {"node_blocks_moved", g.node_blocks_moved},
               {"blocks_moved", g.data_blocks_moved + g.node_blocks_moved},
               {"dropped_copies", g.dropped_copies},
               {"copy_requests", g.copy_requests},
               {"request_ranges", g.request_ranges},
               {"copy_faults", g.copy_faults},
               {"owner_errors", g.owner_errors},
               {"copy_commands", g.copy_commands},
               {"copy_ranges", g.copy_ranges},
               {"max_ranges_per_command", g.max_ranges_per_command},
               {"max_blocks_per_request", g.max_blocks_per_request},
               {"blocks_offloaded", g.blocks_offloaded},
               {"blocks_emulated", g.blocks_emulated},
               {"copy_host_bytes", g.copy_host_bytes},
               {"checkpoints", g.checkpoints},
               {"time_ns", g.time_ns},
               {"copy_command_faults", g.copy_command_faults},
               {"faults_limits", g.faults_limits},
               {"faults_out_of_range", g.faults_out_of_range},
               {"faults_media", g.faults_media},
               {"faults_partial", g.faults_partial},
               {"offload_suspensions", g.offload_suspensions},
               {"blocks_retried", g.blocks_retried},
               {"unreadable_blocks", g.unreadable_blocks},
               {"unwritable_blocks", g.unwritable_blocks},
               {"bad_sections", g.bad_sections},
               {"collect_errors", g.collect_errors}}}};
  j["fs"] = {{"checkpoints", st.fs.checkpoints},
             {"data_blocks_written", st.fs.data_blocks_written},
             {"node_blocks_written", st.fs.node_blocks_written},
             {"dirty_nodes", st.fs.dirty_nodes},
             {"gc_node_updates", st.fs.gc_node_updates},
             {"copy_range",
              {{"calls", st.fs.copy_range_calls},
               {"bytes", st.fs.copy_range_bytes},
               {"blocks_offloaded", st.fs.copy_range_blocks_offloaded},
               {"blocks_emulated", st.fs.copy_range_blocks_emulated},
               {"requests", st.fs.copy_range_requests},
               {"hole_blocks", st.fs.copy_range_hole_blocks},
               {"rw_bytes", st.fs.copy_range_rw_bytes}}}};
  j["space"] = {{"block_size", s.block_size},
                {"blocks", s.blocks},
                {"bfree", s.bfree},
                {"bavail", s.bavail},
                {"files", s.files},
                {"ffree", s.ffree},
                {"segments", s.segments},
                {"free_segments", s.free_segments},
                {"current_segments", s.current_segments},
                {"prefree_segments", s.prefree_segments},
                {"data_segments_in_use", s.data_segments_in_use},
                {"node_segments_in_use", s.node_segments_in_use},
                {"data_valid_in_use", s.data_valid_in_use},
                {"node_valid_in_use", s.node_valid_in_use},
                {"free_sections", s.free_sections},
                {"reserved_sections", s.reserved_sections}};
  return j;
}

std::string status_table(const std::string& mountpoint, const ioctl::Status& st) {
  const auto& g = st.gc;
  const auto& d = st.device_stats;
  const auto& k = st.knobs;
  const auto& s = st.space;
  Table t;
  t.heading("f2sc mount " + mountpoint);
  t.row("state", st.flags & ioctl::kStatusShutDown   ? "shut down (no more writes)"
                 : st.flags & ioctl::kStatusReadOnly ? "read-only"
                                                     : "read-write");
  t.row("device", text(st.device, sizeof st.device));
  t.row("size", std::to_string(st.block_count) + " blocks of " + std::to_string(st.block_size));

  t.heading("copy offload");
  const bool supported = st.flags & ioctl::kStatusCopyOffloadSupported;
  t.row("copy_offload", on_off(st.flags & ioctl::kStatusCopyOffload) +
                            (supported ? "" : " (the device cannot offload)"));
  t.row("offloaded now", on_off(st.flags & ioctl::kStatusOffloadEnabled));
  t.row("max_copy_sectors", std::to_string(st.current_limits.max_copy_sectors) + " (hardware " +
                                std::to_string(st.hw_limits.max_copy_sectors) + ")");
  t.row("max_copy_nr_ranges", std::to_string(st.current_limits.max_copy_nr_ranges) + " (hardware " +
                                  std::to_string(st.hw_limits.max_copy_nr_ranges) + ")");
  t.row("max_copy_range_sectors", std::to_string(st.current_limits.max_copy_range_sectors) +
                                      " (hardware " +
                                      std::to_string(st.hw_limits.max_copy_range_sectors) + ")");

  t.heading("garbage collection");
  t.row("gc_policy", policy_name(st));
  t.row("bg_gc", on_off(st.flags & ioctl::kStatusBackgroundGc));
  t.row("urgent", on_off(st.flags & ioctl::kStatusGcUrgent));
  t.row("sleep min/max/no-gc/urgent",
        std::to_string(k.min_sleep_ms) + "/" + std::to_string(k.max_sleep_ms) + "/" +
            std::to_string(k.no_gc_sleep_ms) + "/" + std::to_string(k.urgent_sleep_ms) + " ms");
  t.row("foreground margin", std::to_string(k.foreground_margin_sections) + " sections");
  t.row("copy requests in flight", k.max_in_flight);
  t.row("collections", g.collections);
  t.row("victims (freed)",
        std::to_string(g.victims) + " (" + std::to_string(g.victims_freed) + ")");
  t.row("blocks moved (data/node)", std::to_string(g.data_blocks_moved + g.node_blocks_moved) +
                                        " (" + std::to_string(g.data_blocks_moved) + "/" +
                                        std::to_string(g.node_blocks_moved) + ")");
  t.row("blocks dead / dropped",
        std::to_string(g.blocks_dead) + " / " + std::to_string(g.dropped_copies));
  t.row("copy requests (ranges)",
        std::to_string(g.copy_requests) + " (" + std::to_string(g.request_ranges) + ")");
  t.row("offloaded / emulated blocks",
        std::to_string(g.blocks_offloaded) + " / " + std::to_string(g.blocks_emulated));
  t.row("copy commands (ranges)",
        std::to_string(g.copy_commands) + " (" + std::to_string(g.copy_ranges) + ")");
  t.row("GC host bytes", mib(g.copy_host_bytes));
  t.row("copy faults / owner errors",
        std::to_string(g.copy_faults) + " / " + std::to_string(g.owner_errors));
  t.row("command faults (partial)",
        std::to_string(g.copy_command_faults) + " (" + std::to_string(g.faults_partial) + ")");
  t.row("unreadable blocks / bad secs",
        std::to_string(g.unreadable_blocks) + " / " + std::to_string(g.bad_sections));
  t.row("collect errors", g.collect_errors);
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f ms", g.time_ns / 1e6);
  t.row("time collecting", ms);

  t.heading("device I/O");
  t.row("read", mib(d.bytes_read) + " in " + std::to_string(d.read_commands) + " commands");
  t.row("written", mib(d.bytes_written) + " in " + std::to_string(d.write_commands) + " commands");
  t.row("copy commands (ranges)",
        std::to_string(d.copy_commands) + " (" + std::to_string(d.copy_ranges) + ")");
  t.row("blocks copied in device", d.blocks_copied_in_device);
  t.row("copy descriptor bytes", d.copy_descriptor_bytes);
  t.row("flushes / discards",
        std::to_string(d.flush_commands) + " / " + std::to_string(d.discard_commands));
  t.row("failed commands", d.failed_commands);

  t.heading("filesystem");
  t.row("checkpoints", st.fs.checkpoints);
  t.row("data blocks written", st.fs.data_blocks_written);
  t.row("node blocks written", st.fs.node_blocks_written);
  t.row("dirty nodes", st.fs.dirty_nodes);
  t.row("GC node updates", st.fs.gc_node_updates);
  t.row("copy_file_range calls",
        std::to_string(st.fs.copy_range_calls) + " (" + mib(st.fs.copy_range_bytes) + ")");
  t.row("  blocks offloaded/emulated", std::to_string(st.fs.copy_range_blocks_offloaded) + " / " +
                                           std::to_string(st.fs.copy_range_blocks_emulated));
  t.row("  requests / holes / rw bytes", std::to_string(st.fs.copy_range_requests) + " / " +
                                             std::to_string(st.fs.copy_range_hole_blocks) + " / " +
                                             std::to_string(st.fs.copy_range_rw_bytes));

  t.heading("space");
  t.row("blocks total / free / avail", std::to_string(s.blocks) + " / " + std::to_string(s.bfree) +
                                           " / " + std::to_string(s.bavail));
  t.row("inodes total / free", std::to_string(s.files) + " / " + std::to_string(s.ffree));
  t.row("segments", std::to_string(s.segments) + " (free " + std::to_string(s.free_segments) +
                        ", open " + std::to_string(s.current_segments) + ", prefree " +
                        std::to_string(s.prefree_segments) + ")");
  t.row("sections free / GC's reserve",
        std::to_string(s.free_sections) + " / " + std::to_string(s.reserved_sections));
  t.row("data segments in use", std::to_string(s.data_segments_in_use) + " (" +
                                    std::to_string(s.data_valid_in_use) + " valid blocks)");
  t.row("node segments in use", std::to_string(s.node_segments_in_use) + " (" +
                                    std::to_string(s.node_valid_in_use) + " valid blocks)");
  return t.str();
}

json gc_json(const ioctl::GcRequest& r) {
  return {{"victims", r.victims},
          {"freed", r.freed},
          {"moved", r.moved},
          {"dropped", r.dropped},
          {"copy_faults", r.copy_faults},
          {"checkpointed", bool(r.checkpointed)}};
}

std::string gc_text(const ioctl::GcRequest& r) {
  if (r.victims == 0) return "nothing to collect: no section holds invalid blocks\n";
  return "collected " + std::to_string(r.victims) + " section(s), " + std::to_string(r.freed) +
         " freed; " + std::to_string(r.moved) + " blocks moved, " + std::to_string(r.dropped) +
         " copies dropped" + (r.checkpointed ? "; checkpoint written" : "") + "\n";
}

}  // namespace f2sc::ctl
