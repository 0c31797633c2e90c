#include "deepcart/rec/spec.h"

#include <gtest/gtest.h>

#include "deepcart/core/error.h"
#include "deepcart/rec/model.h"
#include "error_of.h"

namespace deepcart::rec {
namespace {

TEST(RecSpec, JsonRoundTripKeepsEveryField) {
  TrainSpec spec = default_spec("neumf");
  spec.data.path = "events.csv";
  spec.data.test_path = "test.csv";
  spec.data.load.format = RecFormat::kMovieLens;
  spec.data.load.user_col = "customer";
  spec.data.load.min_rating = 4.0;
  spec.data.load.min_user_interactions = 5;
  spec.data.load.dedupe = true;
  spec.data.load.on_bad_row = data::OnBadRow::kSkip;
  spec.data.load.features = {"price"};
  spec.data.load.fill_missing = 0.5;
  spec.data.split = "random:0.2";
  spec.data.valid_ratio = 0.1;
  spec.hparams = {{"gmf_dim", 16}, {"layers", {32, 16}}};
  spec.loss = "bpr";
  spec.negatives = 7;
  spec.test_ks = {1, 3};
  spec.init_gmf = "g.dcm";
  spec.train.lr = 0.0025;
  spec.train.schedule = "cosine";
  spec.train.seed = 9;

  const nlohmann::json j = spec;
  const TrainSpec back = j.get<TrainSpec>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.data.load.format, RecFormat::kMovieLens);
  EXPECT_EQ(back.data.load.min_rating, 4.0);
  EXPECT_EQ(back.data.load.fill_missing, 0.5);
  EXPECT_EQ(back.data.load.on_bad_row, data::OnBadRow::kSkip);
  EXPECT_EQ(back.data.split, "random:0.2");
  EXPECT_EQ(back.hparams.at("layers"), nlohmann::json({32, 16}));
  EXPECT_EQ(back.negatives, 7);
  EXPECT_EQ(back.test_ks, (std::vector<int>{1, 3}));
  EXPECT_DOUBLE_EQ(back.train.lr, 0.0025);
  EXPECT_EQ(back.train.schedule, "cosine");
  EXPECT_EQ(back.train.seed, 9u);
  // Unset optionals stay unset.
  const TrainSpec plain = nlohmann::json(TrainSpec{}).get<TrainSpec>();
  EXPECT_FALSE(plain.data.load.min_rating.has_value());
  EXPECT_FALSE(plain.data.load.fill_missing.has_value());
  EXPECT_EQ(plain.data.load.positive_event, "purchase");
}

TEST(RecSpec, DefaultsAreTunedPerArchitecture) {
  const TrainSpec mlp = default_spec("mlp");
  EXPECT_EQ(mlp.arch, "behaviour-mlp");
  EXPECT_DOUBLE_EQ(mlp.train.lr, 0.01);
  EXPECT_EQ(mlp.train.batch_size, 512);
  EXPECT_EQ(mlp.negatives, 8);
  const TrainSpec sasrec = default_spec("sasrec");
  EXPECT_DOUBLE_EQ(sasrec.train.lr, 0.001);
  EXPECT_EQ(sasrec.train.batch_size, 128);
  EXPECT_EQ(sasrec.train.epochs, 200);
  EXPECT_EQ(sasrec.train.patience, 10);
  EXPECT_EQ(sasrec.negatives, 4);
  EXPECT_EQ(default_spec("ncf-mlp").hparams.at("layers"), nlohmann::json({64, 32, 16}));
  EXPECT_DOUBLE_EQ(default_spec("bpr-mf").train.lr, 0.01);
  EXPECT_EQ(default_spec("gmf").train.monitor, "ndcg@10");
}

TEST(RecSpec, BadNamesAreClearErrors) {
  EXPECT_EQ(test::error_of([] { default_spec("deepfm"); }),
            "--model: expected pop, bpr-mf, gmf, ncf-mlp, neumf, behaviour-mlp (or mlp), sasrec, "
            "gru4rec or ease, found 'deepfm'");
  nlohmann::json j = TrainSpec{};
  j["data"]["on_bad_row"] = "ignore";
  EXPECT_EQ(test::error_of([&] { j.get<TrainSpec>(); }),
            "spec: on_bad_row: expected error or skip, found 'ignore'");
  j = TrainSpec{};
  j["data"]["format"] = "parquet";
  EXPECT_EQ(test::error_of([&] { j.get<TrainSpec>(); }),
            "--format: expected auto, csv, movielens or seq, found 'parquet'");
}

// A setting's path must name a field the spec reads back, or a hyper-parameter of some
// architecture: a typo would otherwise be written and silently ignored.
TEST(RecSpec, EverySettingPointsAtAFieldTheSpecReads) {
  const nlohmann::json spec = default_spec("behaviour-mlp");
  nlohmann::json sizes = nlohmann::json::object();
  for (const char* arch :
       {"bpr-mf", "gmf", "ncf-mlp", "neumf", "behaviour-mlp", "sasrec", "gru4rec"})
    sizes.update(rec_resolve_hparams(arch, nlohmann::json::object()));
  for (const Setting& s : spec_settings()) {
    if (s.path.rfind("/hparams/", 0) == 0) {
      EXPECT_TRUE(sizes.contains(s.path.substr(9))) << s.name;
    } else {
      EXPECT_TRUE(spec.contains(nlohmann::json::json_pointer(s.path))) << s.name << " " << s.path;
    }
  }
}

TEST(RecSpec, GivenSettingsOverrideTheArchitecturesDefaults) {
  nlohmann::json j = default_spec("sasrec");
  apply_settings(j, spec_settings(),
                 {{"model", {"sasrec"}},
                  {"dim", {"32"}},
                  {"dropout", {"0.3"}},
                  {"k", {"1,5"}},
                  {"dedupe", {"true"}},
                  {"fill-missing", {"0"}},
                  {"features", {"price,dwell"}},
                  {"lr", {"0.004"}},
                  {"train", {"t.csv"}}});
  const TrainSpec spec = j.get<TrainSpec>();
  EXPECT_EQ(spec.arch, "sasrec");
  EXPECT_EQ(spec.hparams.at("dim"), 32);
  EXPECT_DOUBLE_EQ(spec.hparams.at("dropout").get<double>(), 0.3);
  EXPECT_EQ(spec.test_ks, (std::vector<int>{1, 5}));
  EXPECT_TRUE(spec.data.load.dedupe);
  EXPECT_EQ(spec.data.load.fill_missing, 0.0);
  EXPECT_EQ(spec.data.load.features, (std::vector<std::string>{"price", "dwell"}));
  EXPECT_DOUBLE_EQ(spec.train.lr, 0.004);
  EXPECT_EQ(spec.data.path, "t.csv");
  EXPECT_EQ(spec.train.batch_size, 128);  // sasrec's default, not given
  EXPECT_EQ(spec.train.epochs, 200);
}

}  // namespace
}  // namespace deepcart::rec
