"""The seed document's hierarchical GNN, verbatim, on hipool's TopKPooling.

Only the import changes from the PyG original: ``from hipool.nn import TopKPooling``.
``seed_model_class`` takes the pooling class as an argument so that the tests and
``benchmarks/seed_proteins.py`` can build the same model over PyG's class too.

Run it: ``.venv/bin/python examples/seed_model.py`` trains it for a few epochs on the
embedded community graphs and prints the hierarchy of one batch.
"""

import torch
from torch_geometric.nn import GCNConv, global_mean_pool


def seed_model_class(TopKPooling):
    """The seed model (``../shared/seeds/000_*.txt``) over the given ``TopKPooling`` class."""

    class HierarchicalGNN(torch.nn.Module):
        def __init__(self, in_dim, hidden_dim, out_dim):
            super().__init__()
            self.conv1 = GCNConv(in_dim, hidden_dim)
            self.pool1 = TopKPooling(hidden_dim, ratio=0.5)  # keep 50%
            self.conv2 = GCNConv(hidden_dim, hidden_dim)
            self.pool2 = TopKPooling(hidden_dim, ratio=0.5)  # keep 50% of remaining
            self.classifier = torch.nn.Linear(hidden_dim, out_dim)

        def forward(self, x, edge_index, batch):
            # Layer 1: message passing + pool
            x = self.conv1(x, edge_index).relu()
            x, edge_index, _, batch, _, _ = self.pool1(x, edge_index, batch=batch)
            # Graph now has 50% of original nodes
            # Layer 2: message passing + pool
            x = self.conv2(x, edge_index).relu()
            x, edge_index, _, batch, _, _ = self.pool2(x, edge_index, batch=batch)
            # Graph now has 25% of original nodes
            # Final global readout
            graph_emb = global_mean_pool(x, batch)
            return self.classifier(graph_emb)

    return HierarchicalGNN


if __name__ == "__main__":
    from torch_geometric.loader import DataLoader

    from hipool.data.communities import NUM_CLASSES, NUM_FEATURES, make_community_dataset
    from hipool.nn import TopKPooling

    torch.manual_seed(0)
    model = seed_model_class(TopKPooling)(NUM_FEATURES, 32, NUM_CLASSES)
    loader = DataLoader(make_community_dataset(num_graphs=120, seed=0), batch_size=16, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, 6):
        total = 0.0
        for data in loader:
            loss = torch.nn.functional.cross_entropy(model(data.x, data.edge_index, data.batch), data.y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * data.num_graphs
        print(f"epoch {epoch}: loss {total / len(loader.dataset):.3f}")
    data = next(iter(loader))
    out = model.pool1(model.conv1(data.x, data.edge_index).relu(), data.edge_index, batch=data.batch)
    print(out, "- input node -> pooled node:", out.cluster[:12].tolist(), "...")
