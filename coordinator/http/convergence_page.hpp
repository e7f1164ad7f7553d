// The convergence page the bridge serves at `GET /`: one self-contained HTML document (inline CSS
// and JS, SVG plots, nothing loaded from elsewhere) that plots, for a device class, each kind's
// max relative std and points (polled from /v1/campaigns) and measured-vs-estimated points (from
// /v1/device-classes/{name}/accuracy).
#pragma once

#include <string>

namespace ampere {

const std::string& convergence_page();

}  // namespace ampere
