{
  "variables": {
    "core_sources": [
      "native/core/block.cc",
      "native/core/block_job.cc",
      "native/core/block_json.cc",
      "native/core/block_options.cc",
      "native/core/block_target.cc",
      "native/core/block_verify.cc",
      "native/core/clock.cc",
      "native/core/engine.cc",
      "native/core/engine_io_uring.cc",
      "native/core/engine_null.cc",
      "native/core/engine_psync.cc",
      "native/core/engine_pvsync2.cc",
      "native/core/error.cc",
      "native/core/env.cc",
      "native/core/histogram.cc",
      "native/core/json.cc",
      "native/core/kvm.cc",
      "native/core/lock.cc",
      "native/core/net_addr.cc",
      "native/core/net_client.cc",
      "native/core/net_json.cc",
      "native/core/net_options.cc",
      "native/core/net_server.cc",
      "native/core/page_cache.cc",
      "native/core/safety.cc",
      "native/core/sha256.cc",
      "native/core/thread_util.cc",
      "native/core/units.cc"
    ],
    "core_cflags": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-strict-aliasing"]
  },
  "targets": [
    {
      "target_name": "core",
      "type": "static_library",
      "sources": ["<@(core_sources)"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["<@(core_cflags)", "-fPIC"]
    },
    {
      "target_name": "isoprobe",
      "sources": ["native/addon/addon.cc"],
      "dependencies": ["core"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["<@(core_cflags)", "-fexceptions"],
      "libraries": ["-luring"]
    },
    {
      "target_name": "isoprobe-probe",
      "type": "executable",
      "sources": ["native/probe/main.cc", "native/probe/init.cc", "native/probe/guest_devices.cc", "native/probe/plan.cc"],
      "dependencies": ["core"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["<@(core_cflags)"],
      "ldflags": ["-static", "-pthread"],
      "libraries": ["-l:liburing.a"]
    }
  ]
}
