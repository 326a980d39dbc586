// The hfcnet program end to end: each case runs the built binary (HFCNET_EXE) on tiny settings in
// its own scratch folder and checks the exit status, the messages and the files it writes.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <hfc/data/all.hpp>
#include <hfc/hfc.hpp>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Outcome {
  int status = -1;
  std::string out, err;
};

// A fresh scratch folder for one test case; `run` executes hfcnet there.
struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name) : dir(fs::path(HFCNET_SCRATCH) / name) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  Outcome run(const std::string& args) const {
    const std::string command = "cd '" + dir.string() + "' && OMP_NUM_THREADS=2 '" HFCNET_EXE "' " + args +
                                " >stdout.txt 2>stderr.txt";
    const int raw = std::system(command.c_str());
    Outcome o{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_text(dir / "stdout.txt"), read_text(dir / "stderr.txt")};
    INFO("hfcnet ", args, "\nstdout:\n", o.out, "\nstderr:\n", o.err);
    return o;
  }
};

// Settings that train in a few seconds: 70 synthetic faces (56 train, 14 validation) at 32 px.
const std::string kTiny = "--synthetic-count 70 --image-size 32 --batch-size 16";

std::vector<std::string> metrics_rows(const fs::path& run) {
  auto rows = lines_of(read_text(run / "metrics.csv"));
  REQUIRE(!rows.empty());
  CHECK(rows.front() == "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds");
  rows.erase(rows.begin());
  return rows;
}

double column(const std::string& csv_row, int index) {
  std::istringstream in(csv_row);
  std::string field;
  for (int i = 0; i <= index; ++i) std::getline(in, field, ',');
  return std::stod(field);
}

// The weights a file holds, by name, as floats.
std::map<std::string, std::vector<double>> weights_of(const fs::path& path) {
  const auto file = hfc::read_safetensors(path);
  std::map<std::string, std::vector<double>> out;
  for (const auto& name : file.names())
    if (hfc::is_floating(file.dtype(name))) out[name] = file.values<double>(name);
  return out;
}

}  // namespace

TEST_CASE("train: the run folder's files exist, parse and agree, and --resume continues at the next epoch") {
  const Scratch s("train_run");
  auto o = s.run("train " + kTiny + " --epochs 2 --out run");
  REQUIRE(o.status == 0);
  const fs::path run = s.dir / "run";
  for (const char* file : {"metrics.csv", "metrics.jsonl", "config.json", "best.safetensors", "last.safetensors",
                           "last.state.safetensors", "report.md", "curves.svg"})
    CHECK_MESSAGE(fs::is_regular_file(run / file), file);

  const auto rows = metrics_rows(run);
  REQUIRE(rows.size() == 2);
  CHECK(column(rows[0], 0) == 1);
  CHECK(column(rows[1], 0) == 2);
  const auto jsonl = lines_of(read_text(run / "metrics.jsonl"));
  REQUIRE(jsonl.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto j = nlohmann::json::parse(jsonl[i]);
    CHECK(j.at("epoch").get<int>() == int(i) + 1);
    CHECK(j.at("val_accuracy").get<double>() == doctest::Approx(column(rows[i], 4)));
  }
  const auto config = nlohmann::json::parse(read_text(run / "config.json"));
  CHECK(config.at("config").at("epochs") == 2);
  CHECK(config.at("config").at("model") == "resnet18");
  CHECK(config.at("dataset").at("train").get<int>() + config.at("dataset").at("validation").get<int>() == 70);
  CHECK(read_text(run / "curves.svg").starts_with("<svg"));

  // The report shows the best epoch's validation accuracy, as metrics.csv recorded it.
  const double best = std::max(column(rows[0], 4), column(rows[1], 4));
  const std::string report = read_text(run / "report.md");
  const int best_epoch = column(rows[1], 4) > column(rows[0], 4) ? 2 : 1;
  CHECK(report.find("| ResNet18 + HFC | 11,174,539 (+708) | " + std::to_string(best_epoch) + " |") !=
        std::string::npos);
  char overall[32];
  std::snprintf(overall, sizeof overall, " | %.1f |\n", 100 * best);
  CHECK_MESSAGE(report.find(overall) != std::string::npos, "expected overall accuracy ", overall, " in\n", report);
  CHECK(o.out.find("epoch 2/2") != std::string::npos);

  // best.safetensors describes its model and loads strictly into it.
  const auto file = hfc::read_safetensors(run / "best.safetensors");
  CHECK(file.metadata.at("hfcnet.model") == "resnet18");
  CHECK(file.metadata.at("hfcnet.image_size") == "32");
  hfc::ResNet18<float> net({.num_classes = 7, .attention = hfc::Attention::hfc});
  CHECK(hfc::load_safetensors(net, file).complete());

  // A second train into the same folder refuses; --resume goes on at epoch 3.
  o = s.run("train " + kTiny + " --epochs 3 --out run");
  CHECK(o.status == 1);
  CHECK(o.err.find("already holds a run") != std::string::npos);
  o = s.run("train --resume --epochs 3 --out run");
  REQUIRE(o.status == 0);
  CHECK(o.out.find("resuming after epoch 2") != std::string::npos);
  CHECK(o.out.find("epoch 1/3") == std::string::npos);
  CHECK(o.out.find("epoch 3/3") != std::string::npos);
  const auto resumed = metrics_rows(run);
  REQUIRE(resumed.size() == 3);
  CHECK(resumed[0] == rows[0]);
  CHECK(resumed[1] == rows[1]);
  CHECK(column(resumed[2], 0) == 3);
}

// The largest difference between two weights files, which must hold the same names and sizes.
double largest_difference(const fs::path& first, const fs::path& second) {
  const auto a = weights_of(first), b = weights_of(second);
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (const auto& [name, values] : a) {
    REQUIRE(b.contains(name));
    const auto& other = b.at(name);
    REQUIRE(other.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) worst = std::max(worst, std::abs(values[i] - other[i]));
  }
  return worst;
}

TEST_CASE("train --resume: 2 epochs equal 1 epoch and a resumed one (MobileNetV2: dropout, Adam state)") {
  const Scratch s("resume_equivalence");
  const std::string common = "train " + kTiny + " --model mobilenet_v2 --attention hfc --seed 3";
  REQUIRE(s.run(common + " --epochs 2 --out straight").status == 0);
  REQUIRE(s.run(common + " --epochs 1 --out resumed").status == 0);
  const fs::path resumed = s.dir / "resumed", saved = s.dir / "epoch1";
  fs::create_directories(saved);
  for (const char* file : {"last.state.safetensors", "best.safetensors"}) fs::copy_file(resumed / file, saved / file);
  REQUIRE(s.run("train --resume --epochs 2 --out resumed").status == 0);
  CHECK(largest_difference(s.dir / "straight" / "last.safetensors", resumed / "last.safetensors") <= 1e-6);

  // Killed before epoch 2's state file: last.safetensors and the metrics are epoch 2's, the state and
  // best.safetensors epoch 1's. The resume redoes epoch 2, to the same weights.
  for (const char* file : {"last.state.safetensors", "best.safetensors"})
    fs::copy_file(saved / file, resumed / file, fs::copy_options::overwrite_existing);
  REQUIRE(metrics_rows(resumed).size() == 2);
  const auto o = s.run("train --resume --epochs 2 --out resumed");
  REQUIRE(o.status == 0);
  CHECK(o.out.find("resuming after epoch 1") != std::string::npos);
  CHECK(metrics_rows(resumed).size() == 2);
  CHECK(largest_difference(s.dir / "straight" / "last.safetensors", resumed / "last.safetensors") <= 1e-6);

  // A state file from before the weights moved into it resumes from last.safetensors.
  REQUIRE(s.run(common + " --epochs 1 --out older").status == 0);
  const fs::path older_state = s.dir / "older" / "last.state.safetensors";
  auto state = hfc::read_safetensors(older_state);
  std::erase_if(state.tensors, [](const auto& entry) { return entry.first.starts_with("model."); });
  REQUIRE(state.tensors.size() > 0);
  hfc::write_safetensors(older_state, state.tensors, state.metadata);
  REQUIRE(s.run("train --resume --epochs 2 --out older").status == 0);
  CHECK(largest_difference(s.dir / "straight" / "last.safetensors", s.dir / "older" / "last.safetensors") <= 1e-6);
}

TEST_CASE("train --resume: killed after the state file, best.safetensors is rewritten from it") {
  const Scratch s("resume_best");
  REQUIRE(s.run("train " + kTiny + " --epochs 1 --out run").status == 0);
  const fs::path run = s.dir / "run";
  // Epoch 1 is always the best so far; a kill before its best.safetensors leaves none.
  fs::remove(run / "best.safetensors");
  const auto o = s.run("train --resume --epochs 1 --out run");
  REQUIRE(o.status == 0);
  REQUIRE(fs::is_regular_file(run / "best.safetensors"));
  CHECK(hfc::read_safetensors(run / "best.safetensors").metadata.at("hfcnet.epoch") == "1");
  CHECK(largest_difference(run / "best.safetensors", run / "last.safetensors") == 0);
  CHECK(fs::is_regular_file(run / "report.md"));

  // A malformed number in the state file's metadata is an error naming the file and the key.
  auto state = hfc::read_safetensors(run / "last.state.safetensors");
  state.metadata["epoch"] = "1x";
  hfc::write_safetensors(run / "last.state.safetensors", state.tensors, state.metadata);
  const auto bad = s.run("train --resume --epochs 2 --out run");
  CHECK(bad.status == 1);
  CHECK(bad.err.find("last.state.safetensors: metadata 'epoch' is '1x', not a number") != std::string::npos);
}

TEST_CASE("usage errors exit 2, runtime failures exit 1 with a message naming the file") {
  const Scratch s("exit_codes");
  CHECK(s.run("train --no-such-flag").status == 2);
  CHECK(s.run("train --model vgg16").status == 2);
  CHECK(s.run("").status == 2);
  CHECK(s.run("train --dataset fer2013").status == 2);  // no --data
  CHECK(s.run("eval").status == 2);                     // no --weights
  CHECK(s.run("--help").status == 0);
  // Flags checked the same way in train, eval and --resume.
  auto o = s.run("train --subject-split");
  CHECK(o.status == 2);
  CHECK(o.err.find("--subject-split: --dataset synthetic does not record who is in each image") != std::string::npos);
  CHECK(s.run("eval --weights w.safetensors --synthetic-count 3").status == 2);
  CHECK(s.run("train --resume --lr 0 --out nowhere").status == 2);
  CHECK(s.run("train --resume --epochs 0 --out nowhere").status == 2);

  o = s.run("train --dataset fer2013 --data missing.csv");
  CHECK(o.status == 1);
  CHECK(o.err.find("missing.csv") != std::string::npos);
  {
    std::ofstream bad(s.dir / "bad.csv");
    bad << "emotion,pixels,Usage\n3,1 2 3,Training\n";
  }
  o = s.run("train --dataset fer2013 --data bad.csv");
  CHECK(o.status == 1);
  CHECK(o.err.find("bad.csv:2") != std::string::npos);
  o = s.run("train --dataset ck48 --data no_such_folder");
  CHECK(o.status == 1);
  CHECK(o.err.find("no_such_folder") != std::string::npos);
  o = s.run("train " + kTiny + " --device tpu --out tpu");
  CHECK(o.status != 0);
  CHECK(o.err.find("tpu") != std::string::npos);
  o = s.run("predict --weights nothing.safetensors face.png");
  CHECK(o.status == 1);
  CHECK(o.err.find("nothing.safetensors") != std::string::npos);
}

TEST_CASE("train --device cuda: on a GPU it trains as the cpu does, elsewhere it says why it cannot") {
  const Scratch s("train_cuda");
  REQUIRE(s.run("train " + kTiny + " --epochs 2 --out cpu").status == 0);
  const auto gpu = s.run("train " + kTiny + " --epochs 2 --device cuda --out gpu");
  // --resume takes --device from the command line: a cpu run continues on the GPU.
  const auto resumed = s.run("train --resume --epochs 3 --device cuda --out cpu");
  if (gpu.status != 0) {  // no GPU here, or a build without nvcc: the errors name the reason
    for (const auto& o : {gpu, resumed}) {
      CHECK(o.status == 1);
      CHECK((o.err.find("--device cuda: no CUDA device") != std::string::npos ||
             o.err.find("--device cuda: this hfcnet was built without CUDA") != std::string::npos));
    }
    CHECK(!fs::exists(s.dir / "gpu" / "last.safetensors"));
    CHECK(metrics_rows(s.dir / "cpu").size() == 2);  // the cpu run is untouched
    return;
  }
  // Same seed, same data, same protocol: the first epoch's training loss within 5% of the cpu
  // run's (TF32 convolutions and another summation order move it a little, not more).
  const auto on_gpu = metrics_rows(s.dir / "gpu"), on_cpu = metrics_rows(s.dir / "cpu");
  REQUIRE(on_gpu.size() == 2);
  REQUIRE(on_cpu.size() == 3);
  CHECK(column(on_gpu[0], 1) == doctest::Approx(column(on_cpu[0], 1)).epsilon(0.05));
  CHECK(std::isfinite(column(on_gpu[1], 3)));
  CHECK(resumed.status == 0);
  // The GPU's weights load into a cpu network and evaluate there.
  CHECK(s.run("eval --weights gpu/best.safetensors --synthetic-count 70").status == 0);
}

TEST_CASE("synth writes FER2013 CSV and CK+48 layouts that train reads end to end") {
  const Scratch s("synth");
  REQUIRE(s.run("synth --out fer --layout fer2013-csv --count 70").status == 0);
  CHECK(hfc::read_fer2013(s.dir / "fer" / "fer2013.csv").size() == 70);
  auto o = s.run("train --dataset fer2013 --data fer/fer2013.csv --image-size 32 --batch-size 16 --epochs 1 --out r1");
  REQUIRE(o.status == 0);
  const auto config = nlohmann::json::parse(read_text(s.dir / "r1" / "config.json"));
  CHECK(config.at("dataset").at("name") == "fer2013");
  CHECK(metrics_rows(s.dir / "r1").size() == 1);

  REQUIRE(s.run("synth --out ck48 --count 70 --seed 5").status == 0);
  CHECK(hfc::read_ck48(s.dir / "ck48").size() == 70);
  // --subject-split reaches CK+48's split: these file names name no subject.
  o = s.run("train --dataset ck48 --data ck48 --subject-split --epochs 1 --out r3");
  CHECK(o.status == 1);
  CHECK(o.err.find("has no subject") != std::string::npos);
  o = s.run("train --dataset ck48 --data ck48 --model mobilenet_v2 --attention none --image-size 32 --batch-size 16 "
            "--epochs 1 --out r2");
  REQUIRE(o.status == 0);
  CHECK(fs::is_regular_file(s.dir / "r2" / "report.md"));
}

TEST_CASE("eval, predict and gradcam use the weights file alone") {
  const Scratch s("inference");
  REQUIRE(s.run("train " + kTiny + " --epochs 1 --out run").status == 0);
  REQUIRE(s.run("synth --out faces --count 14").status == 0);

  auto o = s.run("eval --weights run/best.safetensors --synthetic-count 70 --out ev");
  REQUIRE(o.status == 0);
  const auto ev = nlohmann::json::parse(read_text(s.dir / "ev" / "evaluation.json"));
  // The same weights on the same validation split: the accuracy train recorded for that epoch.
  CHECK(ev.at("accuracy").get<double>() == doctest::Approx(column(metrics_rows(s.dir / "run")[0], 4)));
  CHECK(ev.at("images") == 14);

  o = s.run("predict --weights run/best.safetensors faces/happy/00003.png faces/sad/00004.png");
  REQUIRE(o.status == 0);
  const auto lines = lines_of(o.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].starts_with("faces/happy/00003.png: "));
  double sum = 0;  // the probabilities after '|' add up to 100%
  std::istringstream in(lines[1].substr(lines[1].find('|') + 1));
  for (std::string name; in >> name;) {
    double p = 0;
    in >> p;
    sum += p;
  }
  CHECK(sum == doctest::Approx(100).epsilon(0.01));

  o = s.run("gradcam --weights run/best.safetensors faces/happy/00003.png --out cam");
  REQUIRE(o.status == 0);
  for (const char* suffix : {"_gradcam.png", "_input.png", "_attention0.png", "_attention3.png", "_high.png", "_low.png"}) {
    const auto path = s.dir / "cam" / (std::string("00003") + suffix);
    REQUIRE_MESSAGE(fs::is_regular_file(path), path);
    const auto image = hfc::read_image(path);
    CHECK(image.width == 32 * 6);  // 32 px enlarged to at least 192
  }
  CHECK(hfc::read_image(s.dir / "cam" / "00003_gradcam.png").channels == 3);
}

TEST_CASE("a diverging run exits 1 and leaves the last good checkpoint as it was") {
  const Scratch s("divergence");
  REQUIRE(s.run("train " + kTiny + " --epochs 1 --out run").status == 0);
  const auto before = read_text(s.dir / "run" / "last.safetensors");
  const auto o = s.run("train --resume --epochs 3 --lr 1e38 --out run");
  CHECK(o.status == 1);
  CHECK(o.err.find("diverged") != std::string::npos);
  CHECK(o.err.find("last.safetensors keeps epoch 1") != std::string::npos);
  CHECK(read_text(s.dir / "run" / "last.safetensors") == before);
  const auto file = hfc::read_safetensors(s.dir / "run" / "last.safetensors");
  CHECK(file.metadata.at("hfcnet.epoch") == "1");
  hfc::ResNet18<float> net({.num_classes = 7, .attention = hfc::Attention::hfc});
  CHECK(hfc::load_safetensors(net, file).complete());
  CHECK(metrics_rows(s.dir / "run").size() == 1);
}

TEST_CASE("a run killed (SIGKILL) while it trains and checkpoints leaves loadable checkpoints") {
  const Scratch s("killed");
  // Start a long run in the background; kill it at several moments after its first checkpoint.
  const std::string start = "cd '" + s.dir.string() + "' && (OMP_NUM_THREADS=2 '" HFCNET_EXE "' train " + kTiny +
                            " --epochs 500 --out run >stdout.txt 2>stderr.txt & echo $! > pid)";
  REQUIRE(std::system(start.c_str()) == 0);
  const auto last = s.dir / "run" / "last.safetensors";
  for (int waited = 0; !fs::exists(last) && waited < 600; ++waited)  // at most 60 s for epoch 1
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(fs::exists(last));
  // Each epoch rewrites last.safetensors (and best.safetensors when it improves): 1.5 s later the
  // run is somewhere in a later epoch, possibly inside a write.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string kill = "kill -9 $(cat '" + (s.dir / "pid").string() + "')";
  REQUIRE(std::system(kill.c_str()) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (const char* name : {"last.safetensors", "best.safetensors"}) {
    INFO(name);
    const auto file = hfc::read_safetensors(s.dir / "run" / name);
    hfc::ResNet18<float> net({.num_classes = 7, .attention = hfc::Attention::hfc});
    CHECK(hfc::load_safetensors(net, file).complete());
  }
  const auto o = s.run("eval --weights run/last.safetensors --synthetic-count 70");
  CHECK(o.status == 0);
}
