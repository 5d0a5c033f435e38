// Included first by every header under a detail/ folder (as Eigen's InternalHeaderCheck.h): those
// headers are the library's internals, with no promise of a stable interface. Public headers include
// config.hpp before any of them, so this passes inside the library and stops a program that includes
// an internal header directly. No include guard: the check runs for every header that asks.
#if !defined(SD_VERSION_MAJOR)
#error "sparse_distill: headers under detail/ are internal; include <sparse_distill.hpp> or a module header such as <sparse_distill/io.hpp> instead"
#endif
