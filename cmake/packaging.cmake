# Install rules and Debian packages (CPack; `./run package`, docs/operations.md "Install"): one
# package per binary, each depending only on what it runs with (dpkg-shlibdeps reads the
# libraries each binary links), each carrying its man page, and the daemons their unit, example
# configuration and maintainer scripts.
#   ampere-coordinator  ampere-coordinator, its unit, /etc/ampere/coordinator.toml
#   ampere-agent        ampere-agent, its unit template, /etc/ampere/agent-main.toml; needs ampere-trainer
#   ampere-trainer      ampere-trainer (LibTorch)
#   ampere              the ampere CLI
include(GNUInstallDirs)

set(ampere_doc ${CMAKE_INSTALL_DATADIR}/doc)
set(ampere_etc ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ampere)

# Man pages from each binary's own --help and --version (help2man), plus docs/man/NAME.h2m.
find_program(HELP2MAN help2man)
set(ampere_man_pages)
function(ampere_man_page binary component)
  if(NOT HELP2MAN)
    return()
  endif()
  set(page ${CMAKE_BINARY_DIR}/man/${binary}.1)
  add_custom_command(OUTPUT ${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${HELP2MAN} --no-info --section 1 --include ${PROJECT_SOURCE_DIR}/docs/man/${binary}.h2m
            --output ${page} $<TARGET_FILE:${binary}>
    COMMAND gzip -9nf ${page}
    DEPENDS ${binary} ${PROJECT_SOURCE_DIR}/docs/man/${binary}.h2m
    COMMENT "man page of ${binary}"
    VERBATIM)
  set(ampere_man_pages ${ampere_man_pages} ${page}.gz PARENT_SCOPE)
  install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${component})
endfunction()

install(TARGETS ampere-trainer RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT trainer)
ampere_man_page(ampere-trainer trainer)
install(FILES LICENSE DESTINATION ${ampere_doc}/ampere-trainer RENAME copyright COMPONENT trainer)
install(FILES CHANGELOG.md docs/trainer-protocol.md docs/meters.md DESTINATION ${ampere_doc}/ampere-trainer COMPONENT trainer)

if(NOT AMPERE_TRAINER_ONLY)
  install(TARGETS ampere-coordinator RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT coordinator)
  install(FILES deploy/systemd/ampere-coordinator.service DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system COMPONENT coordinator)
  install(FILES deploy/config/coordinator.toml DESTINATION ${ampere_etc} COMPONENT coordinator)
  install(FILES LICENSE DESTINATION ${ampere_doc}/ampere-coordinator RENAME copyright COMPONENT coordinator)
  install(FILES CHANGELOG.md docs/operations.md docs/security.md docs/architecture.md
          DESTINATION ${ampere_doc}/ampere-coordinator COMPONENT coordinator)
  install(FILES deploy/config/coordinator.env deploy/prometheus/scrape-ampere.yml deploy/prometheus/alerts.yml
                dashboards/ampere-convergence.json
          DESTINATION ${ampere_doc}/ampere-coordinator/examples COMPONENT coordinator)
  ampere_man_page(ampere-coordinator coordinator)
  # the bridge as its own process ships with the coordinator (same libraries, same store)
  install(TARGETS ampere-bridge RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT coordinator)
  install(FILES deploy/systemd/ampere-bridge.service DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system COMPONENT coordinator)
  install(FILES deploy/config/bridge.toml DESTINATION ${ampere_etc} COMPONENT coordinator)
  ampere_man_page(ampere-bridge coordinator)

  install(TARGETS ampere-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
  install(FILES deploy/systemd/ampere-agent@.service DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system COMPONENT agent)
  install(FILES deploy/config/agent.toml DESTINATION ${ampere_etc} RENAME agent-main.toml COMPONENT agent)
  install(FILES LICENSE DESTINATION ${ampere_doc}/ampere-agent RENAME copyright COMPONENT agent)
  install(FILES CHANGELOG.md docs/operations.md docs/meters.md DESTINATION ${ampere_doc}/ampere-agent COMPONENT agent)
  install(FILES deploy/config/agent.env deploy/config/agent.toml DESTINATION ${ampere_doc}/ampere-agent/examples COMPONENT agent)
  ampere_man_page(ampere-agent agent)

  install(TARGETS ampere RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
  install(FILES LICENSE DESTINATION ${ampere_doc}/ampere RENAME copyright COMPONENT cli)
  install(FILES CHANGELOG.md README.md docs/model-spec.md docs/byom.md DESTINATION ${ampere_doc}/ampere COMPONENT cli)
  ampere_man_page(ampere cli)
endif()
if(ampere_man_pages)
  add_custom_target(man_pages ALL DEPENDS ${ampere_man_pages})
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ampere)
set(CPACK_PACKAGE_VENDOR "Ampere Fleet")
set(CPACK_PACKAGE_CONTACT "Ampere Fleet maintainers <ampere-fleet@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "training-energy estimates for neural networks (AMPERE method)")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "file:///usr/share/doc/ampere/README.md")
if(AMPERE_TRAINER_ONLY)
  set(CPACK_COMPONENTS_ALL trainer)
else()
  set(CPACK_COMPONENTS_ALL coordinator agent trainer cli)
endif()
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_NAME ampere-coordinator)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME ampere-agent)
set(CPACK_DEBIAN_TRAINER_PACKAGE_NAME ampere-trainer)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME ampere)
set(CPACK_COMPONENT_COORDINATOR_DESCRIPTION
    "Ampere Fleet coordinator: profiling campaigns, per-kind Gaussian processes, the store (SQLite or PostgreSQL), the HTTP bridge and Prometheus metrics; systemd unit ampere-coordinator")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "Ampere Fleet agent: trains variant networks through ampere-trainer and reports their time and energy (RAPL, NVML, Jetson INA3221, Android battery, or the labeled time surrogate); systemd unit ampere-agent@NAME")
set(CPACK_COMPONENT_TRAINER_DESCRIPTION
    "Ampere Fleet trainer: LibTorch in its own process, driven by ampere-agent over a pipe, or measuring one model alone")
set(CPACK_COMPONENT_CLI_DESCRIPTION
    "ampere: the command line of Ampere Fleet: campaigns, estimates beside the FLOPs line, pruning plans, model and ONNX inspection")
# The agent runs the trainer (the simulated backend aside): the same release of it.
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "ampere-trainer (= ${PROJECT_VERSION})")
# The daemons' units run them as the system user `ampere`, which postinst creates.
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "ampere-trainer (= ${PROJECT_VERSION}), adduser")
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/debian/coordinator/postinst;${PROJECT_SOURCE_DIR}/deploy/debian/coordinator/conffiles")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/debian/agent/postinst;${PROJECT_SOURCE_DIR}/deploy/debian/agent/conffiles")
include(CPack)
