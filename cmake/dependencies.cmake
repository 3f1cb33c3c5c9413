# Every third-party library comes from Debian 12 packages (see
# deploy/debian-packages.txt). CAF 0.17 and SOCI 4.0 ship no CMake package
# files on Debian, so they get imported targets here.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PNG REQUIRED)  # libpng-dev: decoding uploads, PNG thumbnails
find_package(JPEG REQUIRED) # libjpeg62-turbo-dev: the same for JPEG
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBJWT REQUIRED IMPORTED_TARGET libjwt)
# libsodium-dev: Argon2id password hashing (transports/auth/password.cpp).
pkg_check_modules(LIBSODIUM REQUIRED IMPORTED_TARGET libsodium)
# libpaho-mqttpp-dev ships a CMake package (PahoMqttCpp::paho-mqttpp3, which
# brings the Paho C library with TLS); only the MQTT bridge links it.
find_package(PahoMqttCpp REQUIRED)

function(puzzle_import_library target library)
  find_library(_path NAMES ${library} REQUIRED NO_CACHE)
  add_library(${target} UNKNOWN IMPORTED)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${_path})
  unset(_path)
endfunction()

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
puzzle_import_library(CAF::core caf_core)
puzzle_import_library(CAF::io caf_io)
set_target_properties(CAF::core PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)
set_target_properties(CAF::io PROPERTIES INTERFACE_LINK_LIBRARIES CAF::core)

find_path(SOCI_INCLUDE_DIR soci/soci.h REQUIRED)
puzzle_import_library(SOCI::core soci_core)
puzzle_import_library(SOCI::sqlite3 soci_sqlite3)
find_package(SQLite3 REQUIRED)
set_target_properties(SOCI::core PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${SOCI_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")
set_target_properties(SOCI::sqlite3 PROPERTIES
  INTERFACE_LINK_LIBRARIES "SOCI::core;SQLite::SQLite3")
# The PostgreSQL backend (libsoci-dev ships it) over libpq (libpq-dev);
# SOCI's backend header includes libpq-fe.h.
puzzle_import_library(SOCI::postgresql soci_postgresql)
find_package(PostgreSQL REQUIRED)
set_target_properties(SOCI::postgresql PROPERTIES
  INTERFACE_LINK_LIBRARIES "SOCI::core;PostgreSQL::PostgreSQL")

if(PUZZLE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
