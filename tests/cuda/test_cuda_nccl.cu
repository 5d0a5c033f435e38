// comm::nccl on the GPU. With one GPU there is one rank: the communicator's collectives must leave
// values as they are, and a trainer that sums its gradients through it must train exactly like the plain
// CUDA trainer. The multi-rank path (grouped send/receive, the rank-order kernel) is compiled here; it
// runs only where several GPUs are at hand (mpirun -np N, one rank a GPU).
#include "cuda_test_support.hpp"

#include <sparse_distill/comm/nccl.cuh>

#include <string>
#include <utility>
#include <vector>

namespace {

namespace sd = sparse_distill;

template <class Comm>
std::vector<float> train_twenty_steps(Comm comm) {
    sd::student_config c;
    c.d_in = c.d_out = 16;
    c.d_sae = 64;
    const sd::teacher_mlp<float, sd::backend::cuda> teacher(sd::random_mlp_weights<float>(16, 32, sd::activation::gelu, 3));
    sd::student_mlp<float, sd::backend::cuda> student(c, 4);
    sd::train_settings s = sd::train_settings::for_steps(20, 32);
    s.loss.l1_coeff = 1e-2;
    sd::trainer<float, sd::backend::cuda, Comm> trainer(student, teacher, s, std::move(comm));
    sd::data::gaussian_source<float> source(16, 5);
    trainer.run(source);
    const sd::matrix<float> w_enc = student.weights().w_enc;
    return std::vector<float>(w_enc.data(), w_enc.data() + w_enc.size());
}

}  // namespace

TEST_CASE("cuda: comm::nccl with one rank: collectives leave values as they are, and training equals the plain CUDA trainer") {
    sd::comm::nccl comm = sd::comm::nccl::world(sd::comm::nccl::new_id(), 0, 1);
    CHECK(comm.rank() == 0);
    CHECK(comm.size() == 1);
    CHECK(comm.max_over_ranks(42) == 42);
    CHECK(comm.gather_text("rank zero") == std::vector<std::string>{"rank zero"});
    double host[3] = {1.5, -2, 3};
    comm.sum_in_rank_order(host, 3);
    CHECK(host[1] == -2);
    CHECK(train_twenty_steps(std::move(comm)) == train_twenty_steps(sd::comm::single{}));
}
