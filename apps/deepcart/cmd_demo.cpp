// deepcart datagen and deepcart demo: the demo shop, end to end (the workflow: shop/demo.h).
#include <cstdio>

#include "cli_common.h"
#include "deepcart/data/shop_gen.h"
#include "deepcart/serve/run.h"
#include "deepcart/shop/demo.h"

namespace deepcart::cli {

void register_datagen(CLI::App& app) {
  struct Flags : Common {
    std::string out;
    data::ShopOptions shop;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(&app, "datagen", "write the demo shop's SYNTHETIC behaviour log (CSV)",
                          *f, Compute::kNone);
  cmd->add_option("--out", f->out, "output folder (events.csv, items.csv, README.txt)")->required();
  opt(cmd, "--users", f->shop.users, "customers");
  opt(cmd, "--items", f->shop.items, "products");
  opt(cmd, "--sessions", f->shop.sessions_mean, "mean sessions per customer");
  opt(cmd, "--missing-rate", f->shop.missing_rate, "share of empty price/dwell cells");
  cmd->callback([=] {
    f->shop.seed = f->seed;
    auto s = data::shop_generate(f->out, f->shop);
    if (f->json) {
      return print_json({{"out", f->out},
                         {"events", s.events},
                         {"views", s.views},
                         {"carts", s.carts},
                         {"purchases", s.purchases},
                         {"missing_cells", s.missing_cells}});
    }
    std::printf(
        "wrote %s/events.csv: %lld events (%lld views, %lld carts, %lld purchases), "
        "%lld empty cells; SYNTHETIC data (see README.txt)\n",
        f->out.c_str(), (long long)s.events, (long long)s.views, (long long)s.carts,
        (long long)s.purchases, (long long)s.missing_cells);
  });
}

void register_demo(CLI::App& app) {
  struct Flags : Common {
    shop::DemoOptions demo;
    bool serve = false;
    int port = 8080;
  };
  auto f = std::make_shared<Flags>();
  shop::DemoOptions& o = f->demo;
  auto* cmd =
      add_command(&app, "demo",
                  "the main job: generate the demo shop, clean, train, evaluate, recommend, report",
                  *f, Compute::kTraining);
  opt(cmd, "--out", o.out, "output folder");
  opt(cmd, "--epochs", o.epochs, "recommender epochs (early stopping on validation)");
  opt(cmd, "--vision-epochs", o.vision_epochs,
      "product-photo CNN epochs on Fashion-MNIST (0 = skip)");
  cmd->add_flag("--text,!--no-text", o.text,
                "train the review and question models on the shipped data")
      ->capture_default_str();
  cmd->add_flag("--serve", f->serve,
                "end by serving the demo's models and the shop page (until Ctrl-C)");
  opt(cmd, "--port", f->port, "--serve: the port");
  cmd->callback([=] {
    init_context(*f);
    f->demo.share = share_dir();
    f->demo.seed = f->seed;
    f->demo.quiet = f->quiet;
    const nlohmann::json summary = shop::run_demo(f->demo);
    if (f->json) {
      print_json(summary);
    } else {
      std::printf("%s", shop::demo_text(summary, f->demo.out).c_str());
    }
    std::fflush(stdout);
    if (!f->serve) return;
    serve::RunOptions run;
    run.server.port = f->port;
    run.quiet = f->quiet;
    run.models = serve::models_to_serve({}, f->demo.out + "/models");
    serve::run_until_stopped(run);
  });
}

}  // namespace deepcart::cli
