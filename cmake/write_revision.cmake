# Writes OUT with the git revision the sources are at (`git describe --always --dirty`), run at
# every build so a binary never names a stale revision; OUT is rewritten only when it changes, so
# an unchanged revision rebuilds nothing. Outside a git checkout (a source tarball): REVISION as
# given (-DAMPERE_REVISION=...), else "unknown".
set(revision "${REVISION}")
if(NOT revision)
  execute_process(COMMAND git -C "${SOURCE_DIR}" describe --always --dirty --abbrev=12
                  OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
  if(failed OR NOT revision)
    set(revision "unknown")
  endif()
endif()
set(text "// Written by cmake/write_revision.cmake at build time.\n#define AMPERE_REVISION \"${revision}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")
