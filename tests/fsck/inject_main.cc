// fsck_inject IMAGE DAMAGE: damages one field of an image loaded from the fsck test tree
// (see injector.h); DAMAGE is one of the names `fsck_inject --list` prints.
#include <cstdio>
#include <cstring>
#include <string>

#include "tests/fsck/injector.h"

int main(int argc, char** argv) {
  using namespace f2sc::fsck::testing;
  if (argc == 2 && std::strcmp(argv[1], "--list") == 0) {
    for (const DamageSpec& d : all_damages()) std::printf("%s\n", d.name);
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: fsck_inject IMAGE DAMAGE | --list\n");
    return 16;
  }
  for (const DamageSpec& d : all_damages())
    if (d.name == std::string(argv[2])) {
      auto r = inject(argv[1], d.damage);
      if (!r) {
        std::fprintf(stderr, "fsck_inject: %s\n", r.error().message.c_str());
        return 8;
      }
      std::printf("%s\n", r->c_str());
      return 0;
    }
  std::fprintf(stderr, "fsck_inject: unknown damage %s\n", argv[2]);
  return 16;
}
