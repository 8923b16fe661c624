# cmake/KmemPackaging.cmake - Debian packages with CPack, and the install
# steps a system install needs (ldconfig, uninstall).
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-deb -j
#   (cd build-deb && cpack -G DEB)         # or: bash tools/package.sh
#
# gives the usual split of a Debian library (install components):
#
#   libkmem0      runtime  libkmem.so.0, libkmem-malloc.so.0
#   libkmem-dev   dev      headers, static libraries, unversioned .so
#                          links, kmem.pc, kmem-malloc.pc, the CMake
#                          package, section 3 manual pages, the docs
#   kmeminfo      kmeminfo the tool and kmeminfo(1)
#
# Dependencies on other packages come from dpkg-shlibdeps (liburcu,
# ncurses, libc); libkmem0 gets a shlibs file (and so the ldconfig
# trigger); each package gets /usr/share/doc/<package>/copyright and
# changelog.Debian.gz.  packaging/ holds their sources (and libkmem0's
# dpkg triggers file).

set(KMEM_PACKAGE_MAINTAINER "kmem maintainers <kmem-maintainers@lists.example.org>"
	CACHE STRING "Maintainer field of the Debian packages")
set(KMEM_DEB_RELEASE 1)
set(KMEM_DEB_VERSION "${PROJECT_VERSION}-${KMEM_DEB_RELEASE}")
set(KMEM_SOVERSION ${PROJECT_VERSION_MAJOR})

set(KMEM_DEB_runtime libkmem${KMEM_SOVERSION})
set(KMEM_DEB_dev libkmem-dev)
set(KMEM_DEB_kmeminfo kmeminfo)

# ---- ldconfig after a system install; uninstall ---------------------------
# After `cmake --install` into a prefix whose library directory the dynamic
# linker searches (/usr/local/lib, /usr/lib/..., see ld.so.conf), run
# ldconfig so that programs find libkmem.so.0 at once; into any other
# prefix, say exactly what to do.  Never under DESTDIR (staging, packages).
configure_file(${PROJECT_SOURCE_DIR}/cmake/ldconfig.cmake.in
	${PROJECT_BINARY_DIR}/kmem_ldconfig.cmake @ONLY)
install(SCRIPT ${PROJECT_BINARY_DIR}/kmem_ldconfig.cmake COMPONENT runtime)

# `cmake --build BUILD --target uninstall` removes what the last
# `cmake --install BUILD` put there (install_manifest.txt), then runs
# ldconfig again where the install did.
configure_file(${PROJECT_SOURCE_DIR}/cmake/uninstall.cmake.in
	${PROJECT_BINARY_DIR}/kmem_uninstall.cmake @ONLY)
add_custom_target(uninstall
	COMMAND ${CMAKE_COMMAND} -P ${PROJECT_BINARY_DIR}/kmem_uninstall.cmake
	COMMENT "Removing what cmake --install put in place")

# ---- Per-package documents --------------------------------------------------
configure_file(${PROJECT_SOURCE_DIR}/packaging/changelog.in
	${PROJECT_BINARY_DIR}/packaging/changelog.Debian @ONLY)
find_program(KMEM_GZIP gzip)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
	COMMAND ${KMEM_GZIP} -9n -c ${PROJECT_BINARY_DIR}/packaging/changelog.Debian
		> ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
	DEPENDS ${PROJECT_BINARY_DIR}/packaging/changelog.Debian VERBATIM)
add_custom_target(deb_changelog ALL
	DEPENDS ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz)
foreach(comp runtime dev kmeminfo)
	install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright
		${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
		DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${KMEM_DEB_${comp}}
		COMPONENT ${comp})
endforeach()
install(FILES README.md
	DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${KMEM_DEB_dev} COMPONENT dev)
install(DIRECTORY Documentation/ DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${KMEM_DEB_dev}
	COMPONENT dev FILES_MATCHING PATTERN "*.md" PATTERN man EXCLUDE)

# ---- CPack --------------------------------------------------------------------
set(CPACK_PACKAGE_NAME kmem)
set(CPACK_PACKAGE_VENDOR "kmem")
set(CPACK_PACKAGE_CONTACT "${KMEM_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime dev kmeminfo)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_OUTPUT_FILE_PREFIX packages)

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${KMEM_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_RELEASE ${KMEM_DEB_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${KMEM_DEB_runtime})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# shlibs for the packages with shared libraries (only libkmem0 has any),
# and dpkg's ldconfig trigger rather than only a postinst call.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
	${PROJECT_SOURCE_DIR}/packaging/triggers)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
"Linux kernel memory allocators in userspace (shared libraries)
kmem is the Linux kernel's memory-allocator stack rebuilt as a userspace
C library: a buddy page allocator, slab object caches with per-thread
magazines, kmalloc size classes, and a malloc replacement that catches
invalid and double frees.
.
This package holds the shared libraries: libkmem.so.0 (the kernel-style
API under kmem's names) and libkmem-malloc.so.0 (the same, also exporting
malloc, free and the rest of the C library's allocation API, to link or
to LD_PRELOAD into any program).")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME ${KMEM_DEB_dev})
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
	"${KMEM_DEB_runtime} (= ${KMEM_DEB_VERSION}), liburcu-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION
"Linux kernel memory allocators in userspace (development files)
kmem is the Linux kernel's memory-allocator stack rebuilt as a userspace
C library: kmem_cache_create(), kmalloc(), alloc_pages() and the rest of
the kernel's API, unchanged, for C programs.
.
This package holds the headers, the static libraries, the pkg-config
files (kmem, kmem-malloc), the CMake package (find_package(kmem)), the
manual pages of the API and kmem's documentation.")

set(CPACK_DEBIAN_KMEMINFO_PACKAGE_NAME ${KMEM_DEB_kmeminfo})
set(CPACK_DEBIAN_KMEMINFO_PACKAGE_SECTION utils)
# "kmeminfo run" preloads libkmem-malloc.so.0.
set(CPACK_DEBIAN_KMEMINFO_PACKAGE_DEPENDS "${KMEM_DEB_runtime} (= ${KMEM_DEB_VERSION})")
set(CPACK_COMPONENT_KMEMINFO_DESCRIPTION
"look inside the allocators of a running kmem process
kmeminfo shows the object caches and page allocator of any process that
uses kmem the way /proc/slabinfo, slabtop and /proc/buddyinfo show the
Linux kernel's, byte for byte; JSON for scripts; a watch mode that flags
caches that only grow; and a run mode that runs a program on kmem's
malloc and prints its caches when it exits.")

include(CPack)
